#include "tests/support/fake_http_server.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace fg::testing {
namespace {

template <typename Multimap>
std::string First(const Multimap& map, const std::string& key) {
    const auto it = map.find(key);
    return it == map.end() ? std::string{} : it->second;
}

}  // namespace

std::string RecordedRequest::Header(const std::string& name) const { return First(headers, name); }

std::size_t RecordedRequest::HeaderCount(const std::string& name) const {
    return headers.count(name);
}

std::string RecordedRequest::Param(const std::string& key) const { return First(params, key); }

FakeHttpServer::FakeHttpServer() : FakeHttpServer(std::make_unique<httplib::Server>()) {}

FakeHttpServer::FakeHttpServer(std::unique_ptr<httplib::Server> server)
    : server_(std::move(server)),
      https_(dynamic_cast<httplib::SSLServer*>(server_.get()) != nullptr) {
    REQUIRE(server_->is_valid());
}

FakeHttpServer::~FakeHttpServer() { Stop(); }

void FakeHttpServer::ServeAll(Handler handler) {
    SetHandler(std::move(handler));
    auto serve = [this](const httplib::Request& request, httplib::Response& response) {
        Record(request);
        Handler current;
        {
            std::lock_guard lock(mutex_);
            current = handler_;
        }
        if (current) {
            current(request, response);
        } else {
            response.status = 204;
        }
    };
    server_->Get(".*", serve);
    server_->Post(".*", serve);
    server_->Put(".*", serve);
    server_->Patch(".*", serve);
    server_->Delete(".*", serve);
}

void FakeHttpServer::SetHandler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
}

void FakeHttpServer::Record(const httplib::Request& request) {
    RecordedRequest recorded{.method = request.method,
                             .path = request.path,
                             .params = request.params,
                             .headers = request.headers,
                             .body = request.body,
                             .remote_port = request.remote_port,
                             .at = std::chrono::steady_clock::now()};
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(std::move(recorded));
    }
    recorded_.notify_all();
}

void FakeHttpServer::Start() {
    REQUIRE(!thread_.joinable());
    port_ = server_->bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // The socket listens since the bind, but stop() before the accept loop runs would be lost
    // and the join would hang (httplib 0.11.4 has no wait_until_ready).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    REQUIRE(server_->is_running());
}

void FakeHttpServer::Stop() {
    if (thread_.joinable()) {
        server_->stop();
        thread_.join();
    }
}

std::string FakeHttpServer::Url(std::string_view path, std::string_view host) const {
    return fmt::format("{}://{}:{}{}", https_ ? "https" : "http", host, port_, path);
}

std::vector<RecordedRequest> FakeHttpServer::Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t FakeHttpServer::Count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
}

bool FakeHttpServer::WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return recorded_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

}  // namespace fg::testing
