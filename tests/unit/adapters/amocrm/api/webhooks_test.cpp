#include "adapters/amocrm/api/webhooks.hpp"

#include <map>
#include <mutex>
#include <set>

#include <doctest/doctest.h>

#include "adapters/amocrm/api/connector.hpp"
#include "fake_amo.hpp"

namespace fg::adapters::amocrm {
namespace webhooks_test_file {

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
                if (!request.has_param("filter[destination]")) {
                    Json all = Json::array();
                    for (const auto& [destination, hook] : hooks) {
                        all.push_back(hook);
                    }
                    if (all.empty()) {
                        response.status = 204;
                        return;
                    }
                    Reply(response, ListBody("webhooks", all));
                    return;
                }
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
    REQUIRE(gets.size() == 2);  // every hook (for earlier ones of its own), then this one
    CHECK(gets[0].Param("filter[destination]").empty());
    CHECK(gets[1].Param("filter[destination]") == kHook);

    REQUIRE(connector.Connect(kHook));
    CHECK(fake.Count("POST", "/api/v4/webhooks") == 1);
    CHECK(fake.Count("GET", "/api/v4/webhooks") == 4);
    CHECK(fake.Count("DELETE", "/api/v4/webhooks") == 0);

    REQUIRE(connector.Disconnect(kHook));
    const auto deletes = fake.Requests("DELETE", "/api/v4/webhooks");
    REQUIRE(deletes.size() == 1);
    CHECK(deletes[0].Json() == Json{{"destination", kHook}});
    REQUIRE(connector.Disconnect(kHook));
    CHECK(fake.Count("DELETE", "/api/v4/webhooks") == 1);
}

TEST_CASE("Connect removes its own earlier hooks at other addresses, never other apps' hooks") {
    const ManualClock clock{FromEpoch(1767225600)};
    HookCrm crm;
    const std::vector<std::string> own_earlier = {
        "http://10.0.0.5:8080/hooks/amocrm/acme/HOOK-SECRET-0123456789",  // old public_url
        "https://fg.example/prefix/hooks/amocrm/acme/OLD-SECRET",         // old secret, a prefix
    };
    const std::vector<std::string> kept = {
        "https://fg.example/hooks/amocrm/acme2/HOOK-SECRET-0123456789",  // another tenant
        "https://fg.example/hooks/amocrm/acme/",                         // no secret segment
        "https://fg.example/hooks/amocrm/acme/SECRET/more",              // not our route
        "https://other.app/webhooks/amocrm",                             // another app
        "https://other.app/x?next=/hooks/amocrm/acme/SECRET",            // only in the query
    };
    int id = 1;
    for (const std::vector<std::string>* list : {&own_earlier, &kept}) {
        for (const std::string& destination : *list) {
            crm.hooks[destination] = {{"id", id++},
                                      {"destination", destination},
                                      {"settings", Json::array({"add_lead"})},
                                      {"disabled", false}};
        }
    }
    FakeAmo fake(crm.Handler());
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), nullptr);
    REQUIRE(connector.Connect(kHook));
    const auto deletes = fake.Requests("DELETE", "/api/v4/webhooks");
    REQUIRE(deletes.size() == own_earlier.size());
    std::set<std::string> deleted;
    for (const auto& request : deletes) {
        deleted.insert(request.Json()["destination"].get<std::string>());
    }
    CHECK(deleted == std::set<std::string>(own_earlier.begin(), own_earlier.end()));
    for (const std::string& destination : kept) {
        CHECK_MESSAGE(crm.hooks.count(destination) == 1, destination);
    }
    CHECK(crm.hooks.count(kHook) == 1);
    // Once they are gone, connecting again removes nothing.
    REQUIRE(connector.Connect(kHook));
    CHECK(fake.Count("DELETE", "/api/v4/webhooks") == own_earlier.size());
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

}  // namespace webhooks_test_file
}  // namespace fg::adapters::amocrm
