#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fg::app {

struct CheckOptions {
    std::string config{};
    std::string tenant{};
    std::string now{};
    std::string format = "table";
    bool all = false;  // also the violations the head of sales acknowledged
};
int RunCheck(const CheckOptions& options);

struct ReplayOptions {
    std::string config{};
    std::string tenant{};
    std::string crm{};
    std::vector<std::string> files{};
};
int RunReplay(const ReplayOptions& options);

int RunServe(const std::string& config_path);

struct ReconcileCommand {
    std::string config{};
    std::string tenant{};  // empty: every tenant
    bool full = false;     // everything, not just what changed since the last run
};
int RunReconcile(const ReconcileCommand& command);

struct TenantCommand {
    std::string config{};
    std::string tenant{};
};
/// `connect` (true) / `disconnect` (false): registers or removes funnelguard's webhook.
int RunConnect(const TenantCommand& command, bool connect);

struct InboxCommand {
    std::string config{};
    std::string tenant{};          // empty: every tenant
    std::string state = "failed";  // list: failed or waiting
    int limit = 50;                // list: at most
};
/// `inbox list`: the failed or waiting webhooks with their reasons, newest first.
int RunInboxList(const InboxCommand& command);
/// `inbox retry`: failed and waiting webhooks back to stored, to be processed again.
int RunInboxRetry(const InboxCommand& command);

struct HealthCommand {
    std::string config{};
    std::string listen{};  // host:port to ask instead of the config's server.listen
    bool ready = false;    // /readyz instead of /healthz
    int wait = 0;          // seconds to keep asking until the answer is 200
};
/// `health`: 0 when the running serve of this config answers 200, 1 otherwise.
int RunHealth(const HealthCommand& command);
/// `config check`: the config's problems; `online`: also the stages and fields the rules name
/// that each CRM tenant's account lacks (its directory read through the API). Exit 2 on any.
int RunConfigCheck(const std::string& config_path, bool online);

struct UsersCommand {
    std::string config{};
    std::string tenant{};
};
/// `users`: the tenant's people, their chat addresses, and one-time link codes for those who
/// have none on a channel that links by code. Exit 2 on bad usage or config.
int RunUsers(const UsersCommand& command);

struct DemoOptions {
    double speed = 600;      // clock seconds per real second
    double seconds = 60;     // real seconds the managers work
    std::string db{};        // empty: a temporary file
    int leads = 40;          // leads already in the simulated account
    std::uint64_t seed = 1;  // the account and the managers' behaviour
    std::string crm{};       // the simulated CRM; empty: the first adapter that has one
};
int RunDemo(const DemoOptions& options);

}  // namespace fg::app
