#include "adapters/amocrm/api/connector.hpp"

#include <utility>

#include "adapters/amocrm/api/webhooks.hpp"

namespace fg::adapters::amocrm {

AmoConnector::AmoConnector(ClientOptions options, std::shared_ptr<CatalogCache> catalog)
    : client_(std::move(options)),
      catalog_(catalog ? std::move(catalog) : std::make_shared<CatalogCache>()),
      reader_(client_, catalog_),
      writer_(client_, catalog_, [this]() -> Result<void> {
          auto fetched = reader_.FetchCatalog();
          if (!fetched) {
              return fetched.error();
          }
          return Ok{};
      }) {}

Result<crm::Directory> AmoConnector::FetchDirectory() {
    auto catalog = reader_.FetchCatalog();
    if (!catalog) {
        return catalog.error();
    }
    return catalog->ToDirectory();
}

Result<crm::PullPage> AmoConnector::Pull(const crm::PullRequest& request) {
    return reader_.Pull(request);
}

Result<crm::Connection> AmoConnector::Connect(const std::string& hook_url) {
    return ConnectWebhook(client_, hook_url);
}

Result<void> AmoConnector::Disconnect(const std::string& hook_url) {
    return DisconnectWebhook(client_, hook_url);
}

}  // namespace fg::adapters::amocrm
