#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/result.hpp"
#include "src/crm/adapter.hpp"
#include "src/domain/model.hpp"

namespace fg::adapters::generic {

/// Decodes the generic events format (DESIGN.md §3: `{"events": [...]}` with deal.upserted,
/// task.upserted, note.added, deal.deleted and task.deleted) into domain events.
///
/// Strict: a body that is not JSON, or does not fit the schema, is kInvalidInput with a reason
/// naming the element (`events[2].deal.stage: required string`). Unknown keys are ignored, so
/// senders may add fields; known keys with the wrong type are errors. Event time `at` becomes
/// Deal::updated_at and Deal::created_at, Task::updated_at and Task::created_at, and Note::at;
/// the mirror decides which of them to keep. Pure and stateless: safe to call concurrently.
class GenericDecoder final : public crm::WebhookDecoder {
public:
    static constexpr std::size_t kMaxEvents = 10'000;
    /// Deeper nesting than this is refused before parsing (the schema needs 4 levels).
    static constexpr std::size_t kMaxDepth = 32;

    std::string_view Name() const override { return "generic"; }
    Result<void> Validate(std::string_view body) const override;
    /// Deal::tenant is set from `request.tenant`.
    Result<std::vector<domain::Event>> Decode(const crm::WebhookRequest& request) const override;
    /// One parse: Validate is a full decode here, so its events are the result (never nullopt).
    Result<std::optional<crm::Decoded>> ValidateAndDecode(
        const crm::WebhookRequest& request) const override;
    /// Lower-case hex SHA-256 of the body: byte-identical redeliveries share it. Events inside
    /// carry their own ids, which are deduplicated separately.
    std::string DedupeKey(std::string_view body) const override;
};

}  // namespace fg::adapters::generic
