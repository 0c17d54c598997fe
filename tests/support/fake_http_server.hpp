#pragma once

// The one fake HTTP server of the tests (style.md §2.8): an httplib server on 127.0.0.1 and a
// free port, serving on its own thread, optionally recording what it was sent.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <httplib.h>

namespace fg::testing {

/// One request as a FakeHttpServer saw it.
struct RecordedRequest {
    std::string method{};
    std::string path{};
    httplib::Params params{};    // decoded query (and form) parameters
    httplib::Headers headers{};  // names compare case-insensitively
    std::string body{};
    int remote_port = -1;
    std::chrono::steady_clock::time_point at{};  // when the request reached the server

    /// The first value of header `name`, or "".
    std::string Header(const std::string& name) const;
    std::size_t HeaderCount(const std::string& name) const;
    /// The first value of parameter `key`, or "".
    std::string Param(const std::string& key) const;
};

/// An httplib server bound to 127.0.0.1 on a free port (bind_to_any_port). Routes and settings
/// go on server() before Start(); Start() runs listen_after_bind on a thread of its own and
/// returns once the server accepts connections; the destructor stops it and joins the thread.
///
/// Thread-safety: Requests(), Count() and WaitForRequests() may be called from any thread while
/// the server runs; everything else belongs to the thread that owns the object.
class FakeHttpServer {
public:
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

    /// A plain HTTP server.
    FakeHttpServer();
    /// Serves through `server`, e.g. an httplib::SSLServer made with a certificate.
    explicit FakeHttpServer(std::unique_ptr<httplib::Server> server);
    ~FakeHttpServer();
    FakeHttpServer(const FakeHttpServer&) = delete;
    FakeHttpServer& operator=(const FakeHttpServer&) = delete;

    /// The server, to register routes and settings on before Start().
    httplib::Server& server() { return *server_; }

    /// Routes GET, POST, PUT, PATCH and DELETE of every path to `handler` (which may change
    /// while the server runs, see SetHandler), recording each request before the handler runs.
    void ServeAll(Handler handler);
    /// Replaces the handler of ServeAll().
    void SetHandler(Handler handler);
    /// Records `request`: for handlers registered on server() directly.
    void Record(const httplib::Request& request);

    /// Binds, starts serving and waits (bounded) until the accept loop runs. REQUIREs success.
    void Start();
    /// Stops serving and joins the thread; idempotent.
    void Stop();

    int port() const { return port_; }
    /// "http://127.0.0.1:<port>" (https:// for an SSLServer), followed by `path`.
    std::string Url(std::string_view path = "", std::string_view host = "127.0.0.1") const;

    std::vector<RecordedRequest> Requests() const;
    std::size_t Count() const;
    /// Waits until at least `count` requests were recorded; false once `timeout` passes first.
    bool WaitForRequests(std::size_t count,
                         std::chrono::milliseconds timeout = std::chrono::seconds{20}) const;

private:
    std::unique_ptr<httplib::Server> server_;
    bool https_ = false;
    int port_ = -1;
    std::thread thread_;
    mutable std::mutex mutex_;
    mutable std::condition_variable recorded_;
    Handler handler_;
    std::vector<RecordedRequest> requests_;
};

}  // namespace fg::testing
