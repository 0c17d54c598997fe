#include "src/common/base64url.hpp"

#include <doctest/doctest.h>

TEST_CASE("Base64Url encodes RFC 4648's test vectors without padding, with - and _") {
    CHECK(fg::Base64Url("") == "");
    CHECK(fg::Base64Url("f") == "Zg");
    CHECK(fg::Base64Url("fo") == "Zm8");
    CHECK(fg::Base64Url("foo") == "Zm9v");
    CHECK(fg::Base64Url("foob") == "Zm9vYg");
    CHECK(fg::Base64Url("foobar") == "Zm9vYmFy");
    CHECK(fg::Base64Url("\xfb\xff") == "-_8");
}
