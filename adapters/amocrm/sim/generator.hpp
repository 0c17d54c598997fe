#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adapters/amocrm/sim/model.hpp"
#include "src/common/rng.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

/// Fills the account's catalog: two pipelines ("Продажи" with six open stages and
/// "Повторные продажи" with three), five users (the first, the head of sales, is the admin),
/// and the lead custom fields Бюджет, Дата оплаты, Источник, ИНН, Сумма КП, Город.
void BuildCatalog(Model& model);

/// Adds `count` leads created over the 90 days before `now`, spread over the stages with their
/// stage histories (lead_added and lead_status_changed events; about 5% skip a stage), fields
/// filled as they would be at their stage, about three tasks per lead (done ones for the stages
/// passed; open, overdue or missing ones for the current stage) and notes. Deterministic for a
/// seed and `now`. Webhooks are not sent for this history.
void GenerateLeads(Model& model, std::uint64_t seed, int count, Timestamp now);

/// A plausible Russian lead title ("ООО «Вектор»: поставка оборудования").
std::string LeadTitle(Rng& rng);
/// A meaningful Russian manager note for a lead at a stage.
std::string MeaningfulNote(Rng& rng, const std::string& stage_name);
/// A lazy note (two letters, "ок").
std::string ShortNote(Rng& rng);
/// The text of a follow-up task for the next step after a stage.
std::string TaskText(Rng& rng, const std::string& stage_name);
/// A field value a manager would fill at a stage (nullopt-free: empty values = none for that
/// stage).
std::vector<LeadField> FieldsForStage(const Model& model, Rng& rng, const SimPipeline& pipeline,
                                      std::size_t open_index, bool closed_won,
                                      const SimLead* current, Timestamp now);

}  // namespace fg::adapters::amocrm::sim
