#pragma once

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/api/client.hpp"
#include "src/common/result.hpp"

namespace fg::adapters::bitrix24 {

/// Reads the portal's directory: the deal categories (crm.category.list entityTypeId 2, or the
/// older crm.dealcategory.list plus the default category 0), each one's stages (crm.status.list
/// ENTITY_ID DEAL_STAGE / DEAL_STAGE_<id>, SORT order, SEMANTICS S won, F lost, else open),
/// the users (user.get, every page) and the deals' user fields (crm.deal.userfield.list, their
/// labels as users see them), through `batch` where several calls are due.
Result<Catalog> LoadCatalog(Client& client);

}  // namespace fg::adapters::bitrix24
