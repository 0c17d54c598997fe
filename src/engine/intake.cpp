// Intake: a webhook into the inbox, stored by the writer's group commit (the 200 waits for it),
// and its decoded events handed to the processing (bench/README.md §1: a hot path).
#include <atomic>

#include "src/engine/engine.hpp"

namespace fg::engine {

std::future<Result<bool>> Engine::Intake(const std::string& tenant, const std::string& crm,
                                         std::string body, Timestamp received_at,
                                         std::optional<crm::Decoded> decoded) {
    const auto& decoder = options_.decoders.at(crm);
    storage::InboxItem item;
    item.tenant = tenant;
    item.crm = crm;
    item.dedupe_key = decoder->DedupeKey(body);
    if (decoded && !decoded->fetch.empty()) {
        // A body that only names what to fetch (Bitrix24's events) is no state: the same bytes
        // are also a second change within the same second (its `ts`), which the first body's
        // fetch may have read before it happened. Every delivery is kept and fetched; what the
        // fetches read is deduplicated by its version ids.
        static std::atomic<std::uint64_t> deliveries{0};
        item.dedupe_key += fmt::format("|delivery:{}:{}", received_at.time_since_epoch().count(),
                                       deliveries.fetch_add(1));
    }
    item.body = std::move(body);
    item.received_at = received_at;
    OnStored on_stored;
    if (decoded) {
        // std::function needs a copyable callable: the result travels in a shared_ptr.
        on_stored = [this, kept = std::make_shared<crm::Decoded>(std::move(decoded).value())](
                        std::int64_t seq) { decoded_.Keep(seq, std::move(*kept)); };
    }
    return writer_->AppendInbox(std::move(item), std::move(on_stored));
}

}  // namespace fg::engine
