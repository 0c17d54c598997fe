#include "adapters/amocrm/api/webhooks.hpp"

#include <map>
#include <mutex>

#include <doctest/doctest.h>

#include "adapters/amocrm/api/connector.hpp"
#include "fake_amo.hpp"

namespace fg::adapters::amocrm {
namespace {

using testing::FakeAmo;
using testing::ListBody;
using testing::Reply;
using Json = nlohmann::json;

constexpr const char* kHook = "https://fg.example/hooks/amocrm/acme/HOOK-SECRET-0123456789";

// A CRM that keeps webhook subscriptions by destination, as /api/v4/webhooks does.
struct HookCrm {
    std::mutex mutex;
    std::map<std::string, Json> hooks;

    FakeAmo::Handler Handler() {
        return [this](const httplib::Request& request, httplib::Response& response) {
            std::lock_guard lock(mutex);
            if (request.path != "/api/v4/webhooks") {
                response.status = 404;
                return;
            }
            if (request.method == "GET") {
                const std::string destination = request.get_param_value("filter[destination]");
                const auto it = hooks.find(destination);
                if (it == hooks.end()) {
                    response.status = 204;
                    return;
                }
                Reply(response, ListBody("webhooks", Json::array({it->second})));
            } else if (request.method == "POST") {
                const Json body = Json::parse(request.body);
                const std::string destination = body["destination"];
                hooks[destination] = {{"id", 1},
                                      {"destination", destination},
                                      {"settings", body["settings"]},
                                      {"disabled", false}};
                Reply(response, hooks[destination], 201);
            } else if (request.method == "DELETE") {
                const Json body = Json::parse(request.body);
                hooks.erase(body["destination"].get<std::string>());
                response.status = 204;
            }
        };
    }
};

std::vector<std::string> Needed() { return {kWebhookSettings.begin(), kWebhookSettings.end()}; }

TEST_CASE("Connect registers the hook once; running it again changes nothing") {
    const ManualClock clock{FromEpoch(1767225600)};
    HookCrm crm;
    FakeAmo fake(crm.Handler());
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), nullptr);

    REQUIRE(connector.Connect(kHook));
    auto posts = fake.Requests("POST", "/api/v4/webhooks");
    REQUIRE(posts.size() == 1);
    const Json body = posts[0].Json();
    CHECK(body["destination"] == kHook);
    CHECK(body["settings"].get<std::vector<std::string>>() == Needed());
    const auto gets = fake.Requests("GET", "/api/v4/webhooks");
    REQUIRE(gets.size() == 1);
    CHECK(gets[0].Param("filter[destination]") == kHook);

    REQUIRE(connector.Connect(kHook));
    CHECK(fake.Count("POST", "/api/v4/webhooks") == 1);
    CHECK(fake.Count("GET", "/api/v4/webhooks") == 2);

    REQUIRE(connector.Disconnect(kHook));
    const auto deletes = fake.Requests("DELETE", "/api/v4/webhooks");
    REQUIRE(deletes.size() == 1);
    CHECK(deletes[0].Json() == Json{{"destination", kHook}});
    REQUIRE(connector.Disconnect(kHook));
    CHECK(fake.Count("DELETE", "/api/v4/webhooks") == 1);
}

TEST_CASE("Connect completes a partial or disabled subscription") {
    const ManualClock clock{FromEpoch(1767225600)};
    HookCrm crm;
    bool disabled = false;
    std::vector<std::string> settings = Needed();
    SUBCASE("missing settings, another one kept") { settings = {"add_lead", "add_contact"}; }
    SUBCASE("disabled by amoCRM") { disabled = true; }
    crm.hooks[kHook] = {
        {"id", 1}, {"destination", kHook}, {"settings", settings}, {"disabled", disabled}};
    FakeAmo fake(crm.Handler());
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), nullptr);
    REQUIRE(connector.Connect(kHook));
    const auto posts = fake.Requests("POST", "/api/v4/webhooks");
    REQUIRE(posts.size() == 1);
    const auto sent = posts[0].Json()["settings"].get<std::vector<std::string>>();
    for (const std::string& needed : Needed()) {
        CHECK(std::find(sent.begin(), sent.end(), needed) != sent.end());
    }
    if (!disabled) {
        CHECK(std::find(sent.begin(), sent.end(), "add_contact") != sent.end());
    }
}

TEST_CASE("Webhook errors never repeat the hook URL") {
    const ManualClock clock{FromEpoch(1767225600)};
    FakeAmo fake([](const httplib::Request& request, httplib::Response& response) {
        if (request.method == "GET") {
            response.status = 204;
            return;
        }
        Reply(response, {{"title", "Bad Request"}, {"detail", "bad destination " + request.body}},
              400);
    });
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), nullptr);
    auto result = connector.Connect(kHook);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::kInvalidInput);
    CHECK(result.error().message.find("HOOK-SECRET") == std::string::npos);
    CHECK_FALSE(connector.Connect("not a url"));
}

}  // namespace
}  // namespace fg::adapters::amocrm
