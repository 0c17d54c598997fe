// `funnelguard inbox list|retry`: the webhooks that failed or wait, and putting them back.
#include <iostream>

#include <fmt/format.h>

#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/storage/store.hpp"

namespace fg::app {
namespace {

// The config and its database, read-write (migrated), or an exit status.
struct Opened {
    config::AppConfig config{};
    std::unique_ptr<storage::Db> db{};
};

std::optional<Opened> Open(const InboxCommand& command, std::string_view name, int& status) {
    auto config = LoadOrReport(command.config);
    if (!config) {
        status = 2;
        return std::nullopt;
    }
    if (!command.tenant.empty() && config->FindTenant(command.tenant) == nullptr) {
        std::cerr << fmt::format("inbox {}: unknown tenant \"{}\"\n", name, command.tenant);
        status = 2;
        return std::nullopt;
    }
    auto db = storage::OpenDatabase(config->storage.path);
    if (!db) {
        std::cerr << fmt::format("inbox {}: {}\n", name, db.error().message);
        status = 1;
        return std::nullopt;
    }
    return Opened{.config = std::move(*config), .db = std::move(db).value()};
}

}  // namespace

int RunInboxList(const InboxCommand& command) {
    int status = 0;
    auto opened = Open(command, "list", status);
    if (!opened) {
        return status;
    }
    const storage::InboxFilter filter{
        .tenant = command.tenant,
        .state = storage::ParseInboxState(command.state).value_or(storage::InboxState::kFailed),
        .limit = command.limit};
    const std::vector<storage::InboxEntry> entries = storage::ListInbox(*opened->db, filter);
    for (const storage::InboxEntry& entry : entries) {
        const config::TenantConfig* tenant = opened->config.FindTenant(entry.tenant);
        const std::string zone = tenant != nullptr ? tenant->timezone : std::string{};
        std::cout << fmt::format("#{} {} {} received {} {}: {}\n", entry.seq, entry.tenant,
                                 entry.crm,
                                 zone.empty() ? FormatIso8601(entry.received_at)
                                              : FormatIso8601(entry.received_at, zone),
                                 entry.reason, entry.error);
    }
    std::cerr << fmt::format("{} {} item(s){}{}\n", entries.size(), command.state,
                             command.tenant.empty() ? "" : " of tenant " + command.tenant,
                             static_cast<int>(entries.size()) == command.limit
                                 ? fmt::format(" (the newest {}; --limit for more)", command.limit)
                                 : "");
    return 0;
}

int RunInboxRetry(const InboxCommand& command) {
    int status = 0;
    auto opened = Open(command, "retry", status);
    if (!opened) {
        return status;
    }
    try {
        storage::WriteTransaction transaction(*opened->db);
        const int count = storage::RetryInbox(*opened->db, command.tenant);
        transaction.Commit();
        std::cout << fmt::format(
                         "inbox retry: {} webhook(s){} put back to be processed again: a running "
                         "serve takes them within a minute, otherwise serve does at its start\n",
                         count, command.tenant.empty() ? "" : " of tenant " + command.tenant)
                  << std::flush;
    } catch (const std::exception& error) {
        std::cerr << fmt::format("inbox retry: {}: {}\n", opened->config.storage.path,
                                 error.what());
        return 1;
    }
    return 0;
}

}  // namespace fg::app
