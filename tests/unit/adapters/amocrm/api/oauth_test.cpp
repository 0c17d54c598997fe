#include "adapters/amocrm/api/oauth.hpp"

#include <atomic>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "adapters/amocrm/api/client.hpp"
#include "fake_amo.hpp"
#include "tests/support/process.hpp"

namespace fg::adapters::amocrm {
namespace oauth_test_file {

using testing::FakeAmo;
using testing::Reply;

constexpr const char* kClientSecret = "client-SECRET-abcdef123456";
constexpr const char* kCode = "auth-CODE-def50200abcdef";

std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

unsigned FileMode(const std::string& path) {
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info.st_mode & 0777;
}

// Records how many requests the fake had seen at each Save: proves the order of events.
class RecordingStore final : public TokenStore {
public:
    RecordingStore(FileTokenStore& inner, const FakeAmo& fake) : inner_(inner), fake_(fake) {}
    Result<std::optional<OAuthTokens>> Load() override { return inner_.Load(); }
    Result<void> Save(const OAuthTokens& tokens) override {
        saved_at_requests.push_back(fake_.Requests().size());
        if (fail) {
            return MakeError(ErrorCode::kUnavailable, "disk full");
        }
        return inner_.Save(tokens);
    }
    std::vector<std::size_t> saved_at_requests;
    bool fail = false;

private:
    FileTokenStore& inner_;
    const FakeAmo& fake_;
};

ClientOptions OAuthOptions(const FakeAmo& fake, TokenStore& store, const Clock& clock) {
    ClientOptions options = testing::TestOptions(fake, nullptr, &clock);
    options.token.clear();
    options.oauth = OAuthApp{.client_id = "client-id-1",
                             .client_secret = kClientSecret,
                             .redirect_uri = "https://fg.example/oauth"};
    options.token_store = &store;
    return options;
}

TEST_CASE("FileTokenStore writes 0600 JSON atomically and reads it back") {
    fg::testing::TempDir dir;
    FileTokenStore store(dir.File("acme.tokens.json"));
    auto empty = store.Load();
    REQUIRE(empty);
    CHECK_FALSE(empty->has_value());

    const OAuthTokens tokens{
        .access_token = "acc-1", .refresh_token = "ref-1", .expires_at = FromEpoch(1767312000)};
    REQUIRE(store.Save(tokens));
    CHECK(FileMode(store.path()) == 0600);
    const nlohmann::json saved = nlohmann::json::parse(ReadFile(store.path()));
    CHECK(saved["access_token"] == "acc-1");
    CHECK(saved["refresh_token"] == "ref-1");
    CHECK(saved["expires_at"] == 1767312000);

    REQUIRE(store.Save(
        {.access_token = "acc-2", .refresh_token = "ref-2", .expires_at = FromEpoch(1767400000)}));
    auto loaded = store.Load();
    REQUIRE(loaded);
    REQUIRE(loaded->has_value());
    CHECK((*loaded)->refresh_token == "ref-2");
    CHECK((*loaded)->expires_at == FromEpoch(1767400000));
    CHECK(FileMode(store.path()) == 0600);

    SUBCASE("a damaged file is an error that does not quote it") {
        dir.Write("acme.tokens.json", "{\"access_token\": \"leak-me\"");
        auto broken = store.Load();
        REQUIRE_FALSE(broken);
        CHECK(broken.error().message.find("leak-me") == std::string::npos);
    }
}

TEST_CASE("AuthorizeWithCode exchanges the code and saves the tokens") {
    const ManualClock clock{FromEpoch(1767225600)};
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        Reply(response, {{"token_type", "Bearer"},
                         {"expires_in", 86400},
                         {"access_token", "access-A1"},
                         {"refresh_token", "refresh-R1"}});
    });
    fg::testing::TempDir dir;
    FileTokenStore store(dir.File("t.json"));
    REQUIRE(AuthorizeWithCode(OAuthOptions(fake, store, clock), kCode));

    const auto seen = fake.Requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].path == "/oauth2/access_token");
    CHECK(seen[0].authorization.empty());
    CHECK(seen[0].content_type == "application/json");
    const nlohmann::json body = seen[0].Json();
    CHECK(body["grant_type"] == "authorization_code");
    CHECK(body["code"] == kCode);
    CHECK(body["client_id"] == "client-id-1");
    CHECK(body["client_secret"] == kClientSecret);
    CHECK(body["redirect_uri"] == "https://fg.example/oauth");

    CHECK(FileMode(store.path()) == 0600);
    auto loaded = store.Load();
    REQUIRE(loaded);
    REQUIRE(loaded->has_value());
    CHECK((*loaded)->access_token == "access-A1");
    CHECK((*loaded)->refresh_token == "refresh-R1");
    CHECK((*loaded)->expires_at == FromEpoch(1767225600 + 86400));
}

TEST_CASE("A refused authorization code gives an error without any secret") {
    const ManualClock clock{FromEpoch(1767225600)};
    FakeAmo fake([](const httplib::Request& request, httplib::Response& response) {
        // A hostile or careless server echoing what it got.
        Reply(response, {{"title", "Bad Request"}, {"hint", request.body}}, 400);
    });
    fg::testing::TempDir dir;
    FileTokenStore store(dir.File("t.json"));
    auto result = AuthorizeWithCode(OAuthOptions(fake, store, clock), kCode);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::kUnauthorized);
    CHECK(result.error().message.find(kCode) == std::string::npos);
    CHECK(result.error().message.find(kClientSecret) == std::string::npos);
    auto loaded = store.Load();
    REQUIRE(loaded);
    CHECK_FALSE(loaded->has_value());
}

TEST_CASE("A 401 refreshes once, persists the rotated pair, then repeats the request") {
    const ManualClock clock{FromEpoch(1767225600)};
    FakeAmo fake([](const httplib::Request& request, httplib::Response& response) {
        if (request.path == "/oauth2/access_token") {
            Reply(response, {{"token_type", "Bearer"},
                             {"expires_in", 86400},
                             {"access_token", "access-NEW"},
                             {"refresh_token", "refresh-R2"}});
            return;
        }
        if (request.get_header_value("Authorization") != "Bearer access-NEW") {
            Reply(response, {{"title", "Unauthorized"}, {"status", 401}}, 401);
            return;
        }
        Reply(response, {{"id", 7}});
    });
    fg::testing::TempDir dir;
    FileTokenStore file(dir.File("t.json"));
    // Not expired by the clock: amoCRM revoked it all the same.
    REQUIRE(file.Save({.access_token = "access-OLD",
                       .refresh_token = "refresh-R1",
                       .expires_at = FromEpoch(1767225600 + 80000)}));
    RecordingStore store(file, fake);
    Client client(OAuthOptions(fake, store, clock));

    auto json = client.GetJson("/api/v4/account");
    REQUIRE(json);
    CHECK(json->at("id") == 7);

    const auto seen = fake.Requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].authorization == "Bearer access-OLD");
    CHECK(seen[1].path == "/oauth2/access_token");
    const nlohmann::json body = seen[1].Json();
    CHECK(body["grant_type"] == "refresh_token");
    CHECK(body["refresh_token"] == "refresh-R1");
    CHECK(seen[2].authorization == "Bearer access-NEW");
    // Saved after the token answer (2 requests seen) and before the repeat (the 3rd).
    REQUIRE(store.saved_at_requests.size() == 1);
    CHECK(store.saved_at_requests[0] == 2);
    auto loaded = file.Load();
    REQUIRE(loaded);
    REQUIRE(loaded->has_value());
    CHECK((*loaded)->refresh_token == "refresh-R2");
    CHECK((*loaded)->access_token == "access-NEW");
    CHECK(FileMode(file.path()) == 0600);

    SUBCASE("the next call uses the new token straight away") {
        REQUIRE(client.GetJson("/api/v4/account"));
        CHECK(fake.Requests().size() == 4);
        CHECK(fake.Requests()[3].authorization == "Bearer access-NEW");
    }
}

TEST_CASE("An OAuth token close to expiry is refreshed before the call") {
    const ManualClock clock{FromEpoch(1767225600)};
    FakeAmo fake([](const httplib::Request& request, httplib::Response& response) {
        if (request.path == "/oauth2/access_token") {
            Reply(response, {{"expires_in", 86400},
                             {"access_token", "access-NEW"},
                             {"refresh_token", "refresh-R2"}});
            return;
        }
        Reply(response, {{"ok", true}});
    });
    fg::testing::TempDir dir;
    FileTokenStore store(dir.File("t.json"));
    REQUIRE(store.Save({.access_token = "access-OLD",
                        .refresh_token = "refresh-R1",
                        .expires_at = FromEpoch(1767225600 + 60)}));
    Client client(OAuthOptions(fake, store, clock));
    REQUIRE(client.GetJson("/api/v4/account"));
    const auto seen = fake.Requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].path == "/oauth2/access_token");
    CHECK(seen[1].authorization == "Bearer access-NEW");
}

TEST_CASE("Refresh failures never leak secrets and never use an unsaved pair") {
    const ManualClock clock{FromEpoch(1767225600)};
    std::atomic<bool> refuse{true};
    FakeAmo fake([&refuse](const httplib::Request& request, httplib::Response& response) {
        if (request.path == "/oauth2/access_token") {
            if (refuse) {
                Reply(response, {{"title", "Unauthorized"}, {"hint", request.body}}, 401);
            } else {
                Reply(response, {{"expires_in", 86400},
                                 {"access_token", "access-NEW-secret"},
                                 {"refresh_token", "refresh-R2-secret"}});
            }
            return;
        }
        Reply(response, {{"title", "Unauthorized"}, {"status", 401}}, 401);
    });
    fg::testing::TempDir dir;
    FileTokenStore file(dir.File("t.json"));
    REQUIRE(file.Save({.access_token = "access-OLD-secret",
                       .refresh_token = "refresh-R1-secret",
                       .expires_at = FromEpoch(1767225600 + 80000)}));
    RecordingStore store(file, fake);
    Client client(OAuthOptions(fake, store, clock));

    SUBCASE("refused refresh token") {
        auto json = client.GetJson("/api/v4/account");
        REQUIRE_FALSE(json);
        CHECK(json.error().code == ErrorCode::kUnauthorized);
        for (const char* secret : {"access-OLD-secret", "refresh-R1-secret", kClientSecret}) {
            CHECK(json.error().message.find(secret) == std::string::npos);
        }
        CHECK(json.error().message.find("funnelguard amocrm auth") != std::string::npos);
    }
    SUBCASE("a pair that cannot be saved is not used") {
        refuse = false;
        store.fail = true;
        auto json = client.GetJson("/api/v4/account");
        REQUIRE_FALSE(json);
        CHECK(json.error().message.find("not saved") != std::string::npos);
        for (const auto& seen : fake.Requests()) {
            CHECK(seen.authorization != "Bearer access-NEW-secret");
        }
        auto loaded = file.Load();
        REQUIRE(loaded);
        CHECK((*loaded)->refresh_token == "refresh-R1-secret");
    }
}

}  // namespace oauth_test_file
}  // namespace fg::adapters::amocrm
