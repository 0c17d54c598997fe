#include "src/http/url.hpp"

#include <string>
#include <string_view>

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace fg::http {

TEST_CASE("ParseUrl splits an http(s) URL into what a client needs") {
    auto url = ParseUrl("HTTPS://bot:p%40ss@crm.example.ru:8443/hooks/fg/?token=abc#frag");
    REQUIRE(url);
    CHECK(url->scheme == "https");
    CHECK(url->https());
    CHECK(url->has_userinfo);
    CHECK(url->user == "bot");
    CHECK(url->password == "p@ss");
    CHECK(url->host == "crm.example.ru");
    CHECK(url->port == 8443);
    CHECK(url->path == "/hooks/fg/");
    CHECK(url->query == "?token=abc");
    CHECK(url->Target() == "/hooks/fg/?token=abc");
    CHECK(url->Authority() == "crm.example.ru:8443");

    SUBCASE("the scheme's port, an empty path") {
        auto plain = ParseUrl("http://example.com?only=query");
        REQUIRE(plain);
        CHECK(plain->port == 80);
        CHECK_FALSE(plain->has_userinfo);
        CHECK(plain->path.empty());
        CHECK(plain->Target() == "/?only=query");
        auto secure = ParseUrl("https://example.com");
        REQUIRE(secure);
        CHECK(secure->port == 443);
        CHECK(secure->Target() == "/");
    }
}

TEST_CASE("ParseUrl says what is wrong without repeating the URL") {
    struct Bad {
        std::string_view url;
        std::string_view reason;
    };
    for (const Bad& bad : {
             Bad{"", "must start with http:// or https://"},
             Bad{"ftp://admin:hunter2@example.com/", "scheme must be http or https"},
             Bad{"http://exa mple.com/", "must be ASCII without spaces"},
             Bad{"http://пример.рф/", "must be ASCII without spaces"},
             Bad{"http://admin:hunter2%zz@example.com/?token=t0p-s3cret",
                 "malformed percent-encoding in the userinfo"},
             Bad{"http://[::1]:8080/", "IPv6 literal hosts are not supported"},
             Bad{"http://admin:hunter2@/x?token=t0p-s3cret", "the host is missing"},
             Bad{"http://ex$mple.com/", "the host is missing or has characters"},
             Bad{"http://admin:hunter2@example.com:99999/?token=t0p-s3cret",
                 "the port must be a number from 1 to 65535"},
             Bad{"http://example.com:/", "the port must be a number from 1 to 65535"},
         }) {
        CAPTURE(bad.url);
        auto result = ParseUrl(bad.url);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == ErrorCode::kInvalidInput);
        CHECK(result.error().message.find(bad.reason) != std::string::npos);
        CHECK(result.error().message.find("hunter2") == std::string::npos);
        CHECK(result.error().message.find("t0p-s3cret") == std::string::npos);
    }
}

TEST_CASE("LocationAuthority keeps only host and port of a redirect") {
    CHECK(LocationAuthority("https://a:b@other.example:8443/x?token=t") == "other.example:8443");
    CHECK(LocationAuthority("http://evil.example") == "evil.example");
    CHECK(LocationAuthority("/relative/path?token=t") == "a path on the same host");
    CHECK(LocationAuthority("") == "nowhere (no Location)");
    CHECK(LocationAuthority("http://bad\r\nhost/") == "bad??host");
    const std::string long_host = fmt::format("http://{}/x", std::string(150, 'h'));
    CHECK(LocationAuthority(long_host) == fmt::format("{}...", std::string(100, 'h')));
}

}  // namespace fg::http
