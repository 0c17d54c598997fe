#include <algorithm>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"

namespace fg::adapters::amocrm::sim {

// What every request of the simulator passes first: the block, the rate limit and the bearer
// token, in amoCRM's order, and the request counters.

namespace {

std::string NginxPage(int status, std::string_view reason) {
    return fmt::format(
        "<html>\r\n<head><title>{0} {1}</title></head>\r\n<body>\r\n<center><h1>{0} "
        "{1}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        status, reason);
}

}  // namespace

void Simulator::Impl::Count(const std::string& name) {
    std::lock_guard lock(stats_mutex);
    ++stats.requests;
    ++stats.endpoints[name];
}

bool Simulator::Impl::Gate(const httplib::Request& req, httplib::Response& res, bool needs_auth) {
    {
        std::lock_guard lock(rate_mutex);
        if (blocked) {
            res.status = 403;
            res.set_content(NginxPage(403, "Forbidden"), "text/html");
            std::lock_guard stats_lock(stats_mutex);
            ++stats.blocked;
            return false;
        }
        if (options.rps > 0) {
            const SteadyTime now = std::chrono::steady_clock::now();
            while (!window.empty() && now - window.front() >= options.rate_window) {
                window.pop_front();
            }
            const auto allowed = static_cast<std::size_t>(std::max(1.0, options.rps));
            if (window.size() >= allowed) {
                recent_429.push_back(now);
                while (!recent_429.empty() && now - recent_429.front() > options.block_window) {
                    recent_429.pop_front();
                }
                if (static_cast<int>(recent_429.size()) >= options.block_after_429) {
                    blocked = true;
                }
                if (rate_rng.Chance(options.html_429_share)) {
                    res.status = 429;
                    res.set_content(NginxPage(429, "Too Many Requests"), "text/html");
                } else {
                    Problem(res, 429, "Too Many Requests",
                            "You have sent too many requests in a given amount of time. Please "
                            "try again later.",
                            {{"retry_after", options.retry_after_seconds}});
                }
                std::lock_guard stats_lock(stats_mutex);
                ++stats.rate_limited;
                return false;
            }
            window.push_back(now);
        }
    }
    if (!needs_auth) {
        return true;
    }
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    bool ok = false;
    if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0) {
        const std::string presented = header.substr(kBearer.size());
        std::lock_guard lock(mutex);
        if (presented == token) {
            ok = true;
        } else if (const auto it = access_tokens.find(presented); it != access_tokens.end()) {
            ok = clock->Now() < it->second;
        }
    }
    if (!ok) {
        Problem(res, 401, "Unauthorized", "Invalid user name or password");
        std::lock_guard stats_lock(stats_mutex);
        ++stats.unauthorized;
        return false;
    }
    return true;
}

}  // namespace fg::adapters::amocrm::sim
