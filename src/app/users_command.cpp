#include <iostream>

#include "src/app/adapters.hpp"
#include "src/app/commands.hpp"
#include "src/app/users.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"

namespace fg::app {

int RunUsers(const UsersCommand& command) {
    const auto config = LoadOrReport(command.config);
    if (!config) {
        return 2;
    }
    const config::TenantConfig* tenant = config->FindTenant(command.tenant);
    if (tenant == nullptr) {
        std::cerr << "users: unknown tenant \"" << command.tenant << "\"\n";
        return 2;
    }
    SetupLogging("warn");
    // Created 0600 when absent (storage::OpenDatabase), with the schema.
    auto db = storage::OpenDatabase(config->storage.path);
    if (!db) {
        std::cerr << "users: " << db.error().message << "\n";
        return 1;
    }
    SystemClock clock;
    try {
        PrintUsers(*tenant, Notifiers(), **db, clock, std::cout);
    } catch (const std::exception& error) {
        std::cerr << "users: " << error.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace fg::app
