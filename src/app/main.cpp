#include <iostream>

#include <CLI/CLI.hpp>

#include "src/app/adapters.hpp"
#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"

int main(int argc, char** argv) {
    CLI::App app{"funnelguard: keeps a sales team's CRM honest (five pipeline rules)"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Help for every command");
    app.set_version_flag("--version", "funnelguard " FG_VERSION);

    fg::app::CheckOptions check;
    auto* check_cmd = app.add_subcommand(
        "check", "Evaluate every rule over the mirror as of --now and print what holds");
    check_cmd->add_option("--config", check.config, "Config file")->required();
    check_cmd->add_option("--tenant", check.tenant, "Only this tenant");
    check_cmd->add_option("--now", check.now, "ISO 8601 time to judge at (default: now)");
    check_cmd->add_option("--format", check.format, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
    check_cmd->add_flag("--all", check.all,
                        "Also the violations the head of sales acknowledged (an ACK column)");

    fg::app::ReplayOptions replay;
    auto* replay_cmd = app.add_subcommand(
        "replay", "Feed recorded webhook bodies through the inbox, mirror and rules");
    replay_cmd->add_option("--config", replay.config, "Config file")->required();
    replay_cmd->add_option("--tenant", replay.tenant, "Tenant id")->required();
    replay_cmd->add_option("--crm", replay.crm, "Body format (default: the tenant's crm)");
    replay_cmd->add_option("files", replay.files, "Webhook body files")->required();

    std::string serve_config;
    auto* serve_cmd = app.add_subcommand("serve", "Run the service");
    serve_cmd->add_option("--config", serve_config, "Config file")->required();

    fg::app::ReconcileCommand reconcile;
    auto* reconcile_cmd = app.add_subcommand(
        "reconcile", "The nightly run, now: pull the CRM's state, repair the mirror, re-evaluate");
    reconcile_cmd->add_option("--config", reconcile.config, "Config file")->required();
    reconcile_cmd->add_option("--tenant", reconcile.tenant, "Only this tenant");
    reconcile_cmd->add_flag("--full", reconcile.full,
                            "Pull everything, not just what changed since the last run");

    fg::app::TenantCommand connect;
    auto* connect_cmd =
        app.add_subcommand("connect", "Register funnelguard's webhook in the tenant's CRM");
    connect_cmd->add_option("--config", connect.config, "Config file")->required();
    connect_cmd->add_option("--tenant", connect.tenant, "Tenant id")->required();
    fg::app::TenantCommand disconnect;
    auto* disconnect_cmd =
        app.add_subcommand("disconnect", "Remove funnelguard's webhook from the tenant's CRM");
    disconnect_cmd->add_option("--config", disconnect.config, "Config file")->required();
    disconnect_cmd->add_option("--tenant", disconnect.tenant, "Tenant id")->required();

    // Each CRM adapter adds its own commands and its simulator (`sim <crm>`).
    auto* sim_cmd = app.add_subcommand("sim", "CRM simulators that speak the real wire formats");
    sim_cmd->require_subcommand(1);
    int adapter_exit = -1;  // set by the adapter command that ran
    const fg::crm::CommandContext context{.load_config = fg::app::LoadOrReport};
    for (const fg::crm::Adapter* adapter : fg::app::CrmAdapters()) {
        adapter->AddCommands(app, *sim_cmd, context, adapter_exit);
    }

    fg::app::InboxCommand inbox;
    auto* inbox_cmd =
        app.add_subcommand("inbox", "Webhooks that failed or wait, and their reasons");
    auto* inbox_list_cmd = inbox_cmd->add_subcommand(
        "list", "List the webhooks in one state (failed, by default), with the reasons");
    inbox_list_cmd->add_option("--config", inbox.config, "Config file")->required();
    inbox_list_cmd->add_option("--tenant", inbox.tenant, "Only this tenant");
    inbox_list_cmd
        ->add_option("--state", inbox.state,
                     "stored, waiting (for the CRM's API), fetched, applied, ignored or failed")
        ->check(CLI::IsMember({"stored", "waiting", "fetched", "applied", "ignored", "failed"}))
        ->capture_default_str();
    inbox_list_cmd->add_option("--limit", inbox.limit, "At most this many, newest first")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    auto* inbox_retry_cmd = inbox_cmd->add_subcommand(
        "retry",
        "Put the failed and waiting webhooks back to be processed again (by serve within a "
        "minute, or at its next start)");
    inbox_retry_cmd->add_option("--config", inbox.config, "Config file")->required();
    inbox_retry_cmd->add_option("--tenant", inbox.tenant, "Only this tenant");
    inbox_cmd->require_subcommand(1);

    fg::app::HealthCommand health;
    auto* health_cmd = app.add_subcommand(
        "health", "Ask the running serve of this config for /healthz (or /readyz); exit 0 on 200");
    health_cmd->add_option("--config", health.config, "Config file")->required();
    health_cmd->add_option("--listen", health.listen,
                           "host:port to ask (default: the config's server.listen)");
    health_cmd->add_flag("--ready", health.ready,
                         "Readiness: storage writable and every CRM directory loaded");
    health_cmd->add_option("--wait", health.wait, "Seconds to keep asking until it is 200")
        ->check(CLI::Range(0, 3600))
        ->capture_default_str();

    std::string config_path;
    auto* config_cmd = app.add_subcommand("config", "Config tools");
    auto* config_check_cmd = config_cmd->add_subcommand(
        "check", "Validate the config; report every problem with file, line and key");
    config_check_cmd->add_option("--config", config_path, "Config file")->required();
    bool config_online = false;
    config_check_cmd->add_flag("--online", config_online,
                               "Also check the stages and fields the rules name against each CRM "
                               "tenant's account (read through its API)");
    config_cmd->require_subcommand(1);

    fg::app::UsersCommand users;
    auto* users_cmd = app.add_subcommand(
        "users",
        "The tenant's people and their chat addresses, with a one-time link for each person "
        "who has none yet");
    users_cmd->add_option("--config", users.config, "Config file")->required();
    users_cmd->add_option("--tenant", users.tenant, "Tenant id")->required();

    fg::app::DemoOptions demo;
    auto* demo_cmd = app.add_subcommand(
        "demo",
        "Run funnelguard against a built-in CRM simulator and its simulated managers on a fast "
        "clock, and show what it finds and does");
    demo_cmd->add_option("--speed", demo.speed, "Clock seconds per real second")
        ->check(CLI::PositiveNumber);
    demo_cmd->add_option("--seconds", demo.seconds, "How long the managers work, in real seconds")
        ->check(CLI::PositiveNumber);
    demo_cmd->add_option("--leads", demo.leads, "Leads already in the simulated account")
        ->check(CLI::Range(1, 5000));
    demo_cmd->add_option("--seed", demo.seed, "Seed of the account and of the managers");
    demo_cmd->add_option("--db", demo.db, "Keep the demo database at this path");
    demo_cmd->add_option("--crm", demo.crm, "The simulated CRM (default: the first that has one)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        return code == 0 ? 0 : 2;
    }
    if (*check_cmd) {
        return fg::app::RunCheck(check);
    }
    if (*replay_cmd) {
        return fg::app::RunReplay(replay);
    }
    if (*serve_cmd) {
        return fg::app::RunServe(serve_config);
    }
    if (*reconcile_cmd) {
        return fg::app::RunReconcile(reconcile);
    }
    if (*connect_cmd) {
        return fg::app::RunConnect(connect, true);
    }
    if (*disconnect_cmd) {
        return fg::app::RunConnect(disconnect, false);
    }
    if (adapter_exit >= 0) {
        return adapter_exit;
    }
    if (*inbox_list_cmd) {
        return fg::app::RunInboxList(inbox);
    }
    if (*inbox_retry_cmd) {
        return fg::app::RunInboxRetry(inbox);
    }
    if (*health_cmd) {
        return fg::app::RunHealth(health);
    }
    if (*config_check_cmd) {
        return fg::app::RunConfigCheck(config_path, config_online);
    }
    if (*users_cmd) {
        return fg::app::RunUsers(users);
    }
    if (*demo_cmd) {
        return fg::app::RunDemo(demo);
    }
    return 2;
}
