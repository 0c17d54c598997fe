#pragma once

// Each adapter's fixture, one file per adapter (<adapter>_fixture.cpp); fixtures.cpp lists them.
#include <memory>

#include "tests/contract/harness.hpp"

namespace fg::contract {

std::unique_ptr<Fixture> MakeGenericFixture();
std::unique_ptr<Fixture> MakeAmoCrmFixture();
std::unique_ptr<Fixture> MakeBitrix24Fixture();

}  // namespace fg::contract
