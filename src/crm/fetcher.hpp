#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "src/common/time.hpp"
#include "src/domain/model.hpp"

namespace fg::crm {

/// What the CRM's API said about one reference (see Fetcher).
struct Fetched {
    enum class Outcome {
        kEvents,  // `events` complete the element
        kRetry,   // not now (429, 5xx, timeout, the account is paused): ask again later
        kGone,    // the entity no longer exists in the CRM: nothing to apply for it
        kFailed,  // it cannot be fetched and asking again will not help (`reason` says why)
    };
    Outcome outcome = Outcome::kRetry;
    /// kEvents: the element's events, in the adapter's event id space and with their CRM times,
    /// as its decoder would have made them from a complete body.
    std::vector<domain::Event> events{};
    /// kRetry and kFailed: why, in words fit for logs and the inbox (never a token or a body).
    std::string reason{};
    /// kRetry: the CRM asked for this wait at least (Retry-After); nullopt: the engine's backoff.
    std::optional<Duration> retry_after{};
};

/// The fetch half of an adapter for one tenant's account: turns the references its decoder
/// could not complete without the API (crm::Decoded::fetch; Bitrix24 events carry only ids) into
/// domain events. The references are the adapter's own: the core stores and hands them back, and
/// never reads them.
///
/// Calls go through the account's rate limiter, the one the tenant's connector uses: Fetch
/// blocks until the account may be called. The engine calls it from its fetch worker only (one
/// call at a time per tenant), never while it holds the writer; implementations bound every call
/// with timeouts of their own, so a Fetch always returns.
class Fetcher {
public:
    virtual ~Fetcher() = default;
    /// One result per reference, in order; the references are distinct. An adapter whose API
    /// reads several entities in one request (a batch method) answers them together.
    virtual std::vector<Fetched> Fetch(const std::vector<std::string>& references) = 0;
    /// The most references one Fetch takes.
    virtual std::size_t MaxBatch() const { return 50; }
};

}  // namespace fg::crm
