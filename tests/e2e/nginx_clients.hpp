#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

namespace fg::testing {

/// A TLS client context that trusts anything: the connections below play attackers and idle
/// clients, not the CRM.
class InsecureTls {
public:
    InsecureTls();
    ~InsecureTls();
    InsecureTls(const InsecureTls&) = delete;
    InsecureTls& operator=(const InsecureTls&) = delete;
    SSL_CTX* get() const { return context_; }

private:
    SSL_CTX* context_ = nullptr;
};

/// One blocking client connection to 127.0.0.1, plain or TLS, below any HTTP library, so that a
/// test can send half a request and keep it open. Reads and writes time out after 10 s.
class RawConnection {
public:
    /// Connects, with a TLS handshake when `tls` is given; nullptr when that fails.
    static std::unique_ptr<RawConnection> Open(int port, SSL_CTX* tls);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool Send(std::string_view bytes);
    /// Reads one response (header, then a Content-Length body); its status, or 0.
    int ReadResponse();
    /// True once the server has closed the connection (FIN or RST). Reads nothing, so it may be
    /// called while another thread sends.
    bool PeerClosed() const;

private:
    RawConnection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
    long Receive(char* buffer, std::size_t size);

    int fd_ = -1;
    SSL* ssl_ = nullptr;
};

/// `count` connections that each send a request header one byte per second, never finishing it:
/// a slowloris attack.
class Slowloris {
public:
    Slowloris(int port, SSL_CTX* tls, int count);
    ~Slowloris();
    Slowloris(const Slowloris&) = delete;
    Slowloris& operator=(const Slowloris&) = delete;

    std::size_t Opened() const { return connections_.size(); }
    /// How many the server has not closed yet.
    std::size_t StillOpen() const;

private:
    void Drip();

    std::vector<std::unique_ptr<RawConnection>> connections_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace fg::testing
