#include "src/config/config.hpp"

#include <doctest/doctest.h>

namespace fg::config {
namespace {

TEST_CASE("FormatProblem writes file:line: key: message and drops what is unknown") {
    CHECK(FormatProblem({.file = "fg.toml",
                         .line = 12,
                         .key = "tenant[0].rules.deal_without_task.grace",
                         .message = "bad"}) ==
          "fg.toml:12: tenant[0].rules.deal_without_task.grace: bad");
    CHECK(FormatProblem({.file = "fg.toml", .line = 0, .key = "", .message = "cannot read"}) ==
          "fg.toml: cannot read");
    CHECK(FormatProblem({.file = "fg.toml", .line = 3, .key = "", .message = "syntax"}) ==
          "fg.toml:3: syntax");
}

TEST_CASE("ToString names actions and modes as the config spells them") {
    CHECK(ToString(ActionKind::kNote) == "note");
    CHECK(ToString(ActionKind::kTask) == "task");
    CHECK(ToString(ActionKind::kRevert) == "revert");
    CHECK(ToString(ActionKind::kNotify) == "notify");
    CHECK(ToString(ActionKind::kEscalate) == "escalate");
    CHECK(ToString(Mode::kObserve) == "observe");
    CHECK(ToString(Mode::kWarn) == "warn");
    CHECK(ToString(Mode::kEnforce) == "enforce");
}

TEST_CASE("AppConfig::FindTenant finds by id and returns null otherwise") {
    AppConfig config;
    config.tenants.push_back(TenantConfig{.id = "acme"});
    config.tenants.push_back(TenantConfig{.id = "beta"});
    REQUIRE(config.FindTenant("beta") != nullptr);
    CHECK(config.FindTenant("beta")->id == "beta");
    CHECK(config.FindTenant("gamma") == nullptr);
}

}  // namespace
}  // namespace fg::config
