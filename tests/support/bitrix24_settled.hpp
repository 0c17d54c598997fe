#pragma once

// When an end-to-end test against the Bitrix24 simulator may assert an absence.
#include "adapters/bitrix24/sim/simulator.hpp"
#include "tests/support/service.hpp"

namespace fg::testing {

/// True once everything that happened so far has been handled on both sides: the portal has no
/// event left to post, serve has processed (and fetched) its whole inbox and delivered every
/// action it planned, and the portal queued no new event meanwhile. Any reaction (a second
/// revert, a duplicate comment, to-do or notification) has reached the portal by then.
inline bool Settled(const adapters::bitrix24::sim::Simulator& portal, Service& service) {
    const adapters::bitrix24::sim::EventStats before = portal.Stats().events;
    if (before.pending != 0 || !service.Busy().empty()) {
        return false;
    }
    const adapters::bitrix24::sim::EventStats after = portal.Stats().events;
    return after.pending == 0 && after.queued == before.queued;
}

}  // namespace fg::testing
