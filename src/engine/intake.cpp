// Intake: a webhook into the inbox, stored by the writer's group commit (the 200 waits for it),
// and its decoded events handed to the processing (bench/README.md §1: a hot path).
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
