#pragma once

#include "src/crm/port.hpp"

namespace fg::adapters::amocrm {

/// `amocrm auth` (an OAuth 2.0 authorization code exchanged for tokens, saved 0600) under
/// `root`, and `sim amocrm` (an amoCRM account on this machine) under `sim`.
void AddAmoCommands(CLI::App& root, CLI::App& sim, const crm::CommandContext& context,
                    int& exit_code);

}  // namespace fg::adapters::amocrm
