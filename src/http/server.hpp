#pragma once

#include <memory>
#include <string>
#include <thread>

#include "src/common/result.hpp"
#include "src/crm/port.hpp"
#include "src/engine/engine.hpp"

namespace httplib {
class Server;
}

namespace fg::http {

/// The one HTTP port: webhooks, the admin API, health and metrics (DESIGN.md §3).
class Server {
public:
    /// Webhooks go to the adapter their path names (/hooks/<crm>/...), one of `adapters`.
    Server(engine::Engine& engine, crm::AdapterList adapters);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds `host:port` (port 0 picks a free one) and returns the bound port.
    Result<int> Bind(const std::string& listen);
    /// Serves on a background thread until Stop.
    void Start();
    void Stop();

private:
    void Routes();

    engine::Engine& engine_;
    crm::AdapterList adapters_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
};

}  // namespace fg::http
