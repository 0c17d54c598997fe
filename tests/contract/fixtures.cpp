// The fixtures every contract runs against: one line per adapter. The suite fails for a
// registered adapter (src/app/adapters.cpp) that has none here.
#include "tests/contract/fixtures.hpp"

namespace fg::contract {

std::vector<std::unique_ptr<Fixture>> AllFixtures() {
    std::vector<std::unique_ptr<Fixture>> fixtures;
    fixtures.push_back(MakeGenericFixture());
    fixtures.push_back(MakeAmoCrmFixture());
    fixtures.push_back(MakeBitrix24Fixture());
    return fixtures;
}

}  // namespace fg::contract
