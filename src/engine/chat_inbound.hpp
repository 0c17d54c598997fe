#pragma once

#include <functional>
#include <string>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/config/config.hpp"
#include "src/engine/address_book.hpp"
#include "src/engine/writer.hpp"
#include "src/notify/port.hpp"

namespace fg::engine {

/// What people send back on one tenant's chat channel (notify::Inbound): `/start CODE` links a
/// person's chat, a press of "ack:v:<id>" acknowledges a violation the way
/// POST /api/v1/violations/{id}/ack does. Replies are in the tenant's language.
class ChatInbound final : public notify::Inbound {
public:
    struct Parts {
        const config::TenantConfig* tenant = nullptr;
        config::NotifierSchema schema{};
        Writer* writer = nullptr;
        StoredAddressBook* book = nullptr;
        const Clock* clock = nullptr;
        /// engine::Engine::Acknowledge: kNotFound, kConflict (already resolved) or true.
        std::function<Result<bool>(std::int64_t violation_id)> acknowledge{};
    };
    explicit ChatInbound(Parts parts) : parts_(std::move(parts)) {}

    notify::Reply Link(std::string_view code, const notify::Address& from,
                       std::string_view display_name) override;
    notify::Reply Press(std::string_view callback, const notify::Address& from,
                        std::string_view display_name) override;
    std::string Cursor() override;
    void SaveCursor(const std::string& cursor) override;

private:
    // The person at `from`: linked there, or configured there and linked nowhere else.
    const config::Person* PersonAt(const std::string& address) const;
    const config::Person* PersonOf(const std::string& crm_user) const;
    bool English() const { return parts_.tenant->locale == "en"; }

    Parts parts_;
};

/// "ack:v:<id>": the button under a violation's message that acknowledges it.
std::string AckCallback(std::int64_t violation_id);

}  // namespace fg::engine
