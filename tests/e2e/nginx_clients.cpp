#include "tests/e2e/nginx_clients.hpp"

#include <chrono>
#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fg::testing {
namespace {

// A header that never ends: every line after the request line is another field.
constexpr std::string_view kRequestStart =
    "POST /hooks/generic/acme HTTP/1.1\r\nHost: fg.example.com\r\n";
constexpr std::string_view kEndlessField = "X-Slow: 1\r\n";

char HeaderByte(std::size_t index) {
    if (index < kRequestStart.size()) {
        return kRequestStart[index];
    }
    return kEndlessField[(index - kRequestStart.size()) % kEndlessField.size()];
}

}  // namespace

InsecureTls::InsecureTls() : context_(SSL_CTX_new(TLS_client_method())) {
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
}

InsecureTls::~InsecureTls() { SSL_CTX_free(context_); }

std::unique_ptr<RawConnection> RawConnection::Open(int port, SSL_CTX* tls) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return nullptr;
    }
    const timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return nullptr;
    }
    SSL* ssl = nullptr;
    if (tls != nullptr) {
        ssl = SSL_new(tls);
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, "fg.example.com");
        if (SSL_connect(ssl) != 1) {
            SSL_free(ssl);
            ::close(fd);
            return nullptr;
        }
    }
    return std::unique_ptr<RawConnection>(new RawConnection(fd, ssl));
}

RawConnection::~RawConnection() {
    if (ssl_ != nullptr) {
        SSL_free(ssl_);  // no close_notify: an attacker just goes away
    }
    ::close(fd_);
}

bool RawConnection::Send(std::string_view bytes) {
    if (ssl_ != nullptr) {
        return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
    }
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
}

long RawConnection::Receive(char* buffer, std::size_t size) {
    if (ssl_ != nullptr) {
        return SSL_read(ssl_, buffer, static_cast<int>(size));
    }
    return ::recv(fd_, buffer, size, 0);
}

int RawConnection::ReadResponse() {
    std::string data;
    char chunk[4096];
    std::size_t header_end = std::string::npos;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
        const long n = Receive(chunk, sizeof chunk);
        if (n <= 0) {
            return 0;
        }
        data.append(chunk, static_cast<std::size_t>(n));
    }
    const std::string header = data.substr(0, header_end);
    std::size_t length = 0;
    for (std::string_view name : {"\r\nContent-Length: ", "\r\ncontent-length: "}) {
        if (const auto at = header.find(name); at != std::string::npos) {
            length = std::strtoul(header.c_str() + at + name.size(), nullptr, 10);
        }
    }
    while (data.size() < header_end + 4 + length) {
        const long n = Receive(chunk, sizeof chunk);
        if (n <= 0) {
            return 0;
        }
        data.append(chunk, static_cast<std::size_t>(n));
    }
    if (data.rfind("HTTP/1.1 ", 0) != 0 || data.size() < 12) {
        return 0;
    }
    return std::atoi(data.c_str() + 9);
}

bool RawConnection::PeerClosed() const {
    pollfd fd{fd_, POLLRDHUP, 0};
    return ::poll(&fd, 1, 0) > 0 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

Slowloris::Slowloris(int port, SSL_CTX* tls, int count) {
    for (int i = 0; i < count; ++i) {
        auto connection = RawConnection::Open(port, tls);
        if (connection == nullptr || !connection->Send(std::string_view(kRequestStart.data(), 1))) {
            continue;
        }
        connections_.push_back(std::move(connection));
    }
    thread_ = std::thread([this] { Drip(); });
}

Slowloris::~Slowloris() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

std::size_t Slowloris::StillOpen() const {
    std::size_t open = 0;
    for (const auto& connection : connections_) {
        open += connection->PeerClosed() ? 0 : 1;
    }
    return open;
}

void Slowloris::Drip() {
    std::vector<bool> failed(connections_.size(), false);
    std::unique_lock lock(mutex_);
    for (std::size_t index = 1;; ++index) {
        // The pace of the attack, not a wait for a condition: one byte per connection per second
        // keeps every connection well inside any per-read timeout.
        if (wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
            return;
        }
        const char byte = HeaderByte(index);
        for (std::size_t i = 0; i < connections_.size(); ++i) {
            if (!failed[i] && !connections_[i]->Send(std::string_view(&byte, 1))) {
                failed[i] = true;
            }
        }
    }
}

}  // namespace fg::testing
