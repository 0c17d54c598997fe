#pragma once

#include <memory>
#include <string>

#include "adapters/amocrm/api/client.hpp"
#include "adapters/amocrm/api/reader.hpp"
#include "adapters/amocrm/api/writer.hpp"
#include "adapters/amocrm/wire/catalog.hpp"
#include "src/crm/connector.hpp"

namespace fg::adapters::amocrm {

/// One amoCRM account as the core sees it: one shared client (rate limiter, OAuth session,
/// block state) behind the reader, the writer and webhook registration.
///
/// - FetchDirectory: Reader::FetchCatalog (pipelines, custom fields, users) -> the cache,
///   returned as Catalog::ToDirectory().
/// - Pull: Reader::Pull (one page per call, resumable cursor).
/// - Connect / Disconnect: ConnectWebhook / DisconnectWebhook.
/// - Sink: the Writer (notes, tasks in batches of 50, reverts).
/// - Blocked: Client::Blocked (a 403 account block).
///
/// Thread-safe except Sink(), which is thread-compatible as outbox::ActionSink requires.
class AmoConnector final : public crm::Connector {
public:
    /// `catalog` is the cache the webhook decoder reads; FetchDirectory and Pull refresh it.
    AmoConnector(ClientOptions options, std::shared_ptr<CatalogCache> catalog);

    Result<crm::Directory> FetchDirectory() override;
    Result<crm::PullPage> Pull(const crm::PullRequest& request) override;
    Result<crm::Connection> Connect(const std::string& hook_url) override;
    Result<void> Disconnect(const std::string& hook_url) override;
    outbox::ActionSink& Sink() override { return writer_; }
    std::string Blocked() const override { return client_.Blocked(); }

    Client& client() { return client_; }

private:
    Client client_;
    std::shared_ptr<CatalogCache> catalog_;
    Reader reader_;
    Writer writer_;
};

}  // namespace fg::adapters::amocrm
