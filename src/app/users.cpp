#include "src/app/users.hpp"

#include <map>
#include <memory>

#include <fmt/format.h>

#include "src/app/table.hpp"
#include "src/engine/address_book.hpp"
#include "src/storage/chat.hpp"

namespace fg::app {
namespace {

std::string_view RoleName(config::Role role) {
    return role == config::Role::kHead ? "head" : "manager";
}

// A notifier's channel for the tenant, checked once, when a link is first needed.
struct CheckedChannel {
    std::unique_ptr<notify::Channel> channel{};
    bool checked = false;
    std::string problem{};
};

}  // namespace

void PrintUsers(const config::TenantConfig& tenant, const notify::NotifierList& notifiers,
                storage::Db& db, const Clock& clock, std::ostream& out) {
    std::vector<const notify::Notifier*> used;
    std::vector<std::string> header = {"CRM USER", "NAME", "ROLE", "TEAM"};
    for (const notify::Notifier* notifier : notifiers) {
        if (tenant.chat_channels.count(std::string(notifier->Name())) != 0) {
            used.push_back(notifier);
            header.push_back(fmt::format("{}", notifier->Name()));
        }
    }
    std::map<const notify::Notifier*, CheckedChannel> channels;
    std::vector<std::string> notes;
    Table table(header);
    for (const config::Person& person : tenant.people) {
        std::vector<std::string> row = {person.crm_user, person.name,
                                        std::string(RoleName(person.role)), person.team};
        for (const notify::Notifier* notifier : used) {
            const config::NotifierSchema schema = notifier->Schema();
            const std::string name(notifier->Name());
            const auto shown = [&schema](const std::string& address) {
                return schema.secret_addresses ? engine::RedactedAddress(address) : address;
            };
            if (const auto linked = storage::ChatLinkOf(db, tenant.id, name, person.crm_user)) {
                row.push_back(shown(*linked) + " (linked)");
                continue;
            }
            // Addresses are kept by channel (the loader's, implied ones included), not by the
            // person key they were written with (slack_webhook, bitrix24_user).
            const auto configured = person.addresses.find(name);
            if (configured != person.addresses.end() && !configured->second.empty()) {
                row.push_back(shown(configured->second));
                continue;
            }
            if (!schema.links_by_code) {
                row.push_back("-");
                continue;
            }
            storage::LinkCode code;
            {
                storage::WriteTransaction transaction(db);
                code = storage::IssueLinkCode(db, tenant.id, person.crm_user, clock.Now());
                transaction.Commit();
            }
            CheckedChannel& checked = channels[notifier];
            if (!checked.checked) {
                checked.checked = true;
                checked.channel = notifier->MakeChannel(tenant, clock);
                checked.problem = checked.channel ? checked.channel->Check()
                                                  : std::string("the channel cannot be made");
            }
            const std::string url =
                checked.problem.empty() ? checked.channel->LinkUrl(code.code) : std::string();
            if (!url.empty()) {
                row.push_back(fmt::format("code {}", code.code));
                notes.push_back(fmt::format("{} on {}: {}", person.crm_user, name, url));
            } else {
                row.push_back(fmt::format("code {}", code.code));
                notes.push_back(fmt::format(
                    "{} on {}: no link ({}); they send /start {} to the bot", person.crm_user, name,
                    checked.problem.empty() ? "the channel gives none" : checked.problem,
                    code.code));
            }
        }
        table.Add(std::move(row));
    }
    out << table.Render(60);
    if (!notes.empty()) {
        out << "\nLinks to send (each works once):\n";
        for (const std::string& note : notes) {
            out << "  " << note << "\n";
        }
    }
}

}  // namespace fg::app
