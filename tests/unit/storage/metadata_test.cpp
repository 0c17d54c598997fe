#include "src/storage/metadata.hpp"

#include <string>

#include <doctest/doctest.h>

#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

// ---------------------------------------------------------------- meta

TEST_CASE("Meta values per tenant") {
    auto db = Memory();
    CHECK_FALSE(GetMeta(*db, "acme", "cursor").has_value());
    SetMeta(*db, "acme", "cursor", "1");
    SetMeta(*db, "beta", "cursor", "2");
    SetMeta(*db, "acme", "cursor", "3");
    CHECK(GetMeta(*db, "acme", "cursor") == std::optional<std::string>("3"));
    CHECK(GetMeta(*db, "beta", "cursor") == std::optional<std::string>("2"));
    CHECK_FALSE(GetMeta(*db, "", "cursor").has_value());
}

}  // namespace fg::storage
