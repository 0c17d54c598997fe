#pragma once

#include <cstdint>

#include "adapters/bitrix24/sim/model.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::bitrix24::sim {

// User field names of the demo's card (src/demo/data/demo.toml names them by label).
inline constexpr const char* kFieldBudget = "UF_CRM_1700000000001";    // Бюджет
inline constexpr const char* kFieldPaidOn = "UF_CRM_1700000000002";    // Дата оплаты
inline constexpr const char* kFieldSource = "UF_CRM_1700000000003";    // Источник
inline constexpr const char* kFieldInn = "UF_CRM_1700000000004";       // ИНН
inline constexpr const char* kFieldOfferSum = "UF_CRM_1700000000005";  // Сумма КП
inline constexpr const char* kFieldCity = "UF_CRM_1700000000006";      // Город

/// The portal's catalog: pipelines 0 «Общая» (the demo's stages) and 1 «Повторные продажи»
/// (C1: stages), the users (1 is the administrator) and the deal user fields.
void BuildCatalog(Model& model);

/// `count` deals created over the last weeks with their stage histories, to-dos, tasks and
/// timeline comments; seeded. Raises no events (they happened before anyone listened).
void GenerateDeals(Model& model, std::uint64_t seed, int count, Timestamp now);

}  // namespace fg::adapters::bitrix24::sim
