#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/domain/model.hpp"

namespace fg::config {

using domain::ActionKind;
enum class Mode { kObserve, kWarn, kEnforce };

/// What every rule section has.
struct RuleCommon {
    bool enabled = true;
    std::vector<ActionKind> actions{};
    /// Escalate to the head of sales once a violation has been open this long (absent = never,
    /// unless `escalate` is among the actions: then 24h).
    std::optional<Duration> escalate_after{};
    /// Due time of the tasks the rule's `task` action creates, counted from when the task is
    /// planned; also the window within which funnelguard adds no second task to the same deal.
    Duration task_due = std::chrono::hours{24};
};

struct StageOrderConfig {
    RuleCommon common{};
    bool allow_backward = true;
    bool lost_from_any = true;
    std::vector<std::string> create_in{};  // stages a deal may be created in without a skip
};

struct DealWithoutTaskConfig {
    RuleCommon common{};
    Duration grace = std::chrono::minutes{15};
};

struct ConsistencyCheck {
    enum class Kind { kFilled, kEquals, kAtLeast };
    Kind kind = Kind::kFilled;
    std::string field{};
    std::string value{};  // kEquals
    double number = 0;    // kAtLeast
    std::string stage_at_least{};
};

struct ActualStageConfig {
    RuleCommon common{};
    std::optional<Duration> max_age_default{};
    std::map<std::string, Duration> max_age{};  // per stage name
    std::vector<ConsistencyCheck> consistency{};
};

struct CardFilledConfig {
    RuleCommon common{};
    std::map<std::string, std::vector<std::string>> required{};  // stage -> fields
    bool note_per_stage = false;
    int min_note_chars = 10;
};

struct OverdueTaskConfig {
    RuleCommon common{};
    Duration grace{0};
};

struct RulesConfig {
    StageOrderConfig stage_order{};
    DealWithoutTaskConfig deal_without_task{};
    ActualStageConfig actual_stage{};
    CardFilledConfig card_filled{};
    OverdueTaskConfig overdue_task{};
};

/// A CRM adapter's own `[tenant.<crm>]` settings, as its adapter parsed them: the core never
/// looks inside (the adapter does, with TenantConfig::CrmSettingsAs).
class CrmSettings {
public:
    virtual ~CrmSettings() = default;
    /// How a deal is opened in the CRM, with `{deal}` for its id (TenantConfig::deal_url);
    /// empty: no link.
    virtual std::string DealUrl() const { return {}; }
};

class TableReader;

/// What the loader knows of one CRM adapter (crm::Adapter::Schema).
struct CrmSchema {
    std::string name{};               // the `crm` value and the section's name
    bool is_default = false;          // the crm of a tenant that names none
    bool pipelines_from_api = false;  // false: the tenant lists its [[tenant.pipeline]]
    std::string title{};              // how users write the CRM's name, e.g. "amoCRM"
    /// Its action receiver takes chat messages too (notify, escalate): the generic adapter's
    /// actions_url does, a CRM's API does not.
    bool delivers_messages = false;
    /// Reads the tenant's `[tenant.<name>]` (tenant.Table(name); absent or not, the adapter
    /// decides) and reports its problems through `tenant`; relative file names resolve against
    /// `base_dir`, the folder of the defining file.
    std::function<std::shared_ptr<const CrmSettings>(TableReader& tenant,
                                                     const std::string& base_dir)>
        parse{};
};
using CrmSchemas = std::vector<CrmSchema>;

/// A chat notifier's own settings from `[tenant.chat]`, as it parsed them (the core never looks
/// inside; the notifier does, with TenantConfig::ChannelSettingsAs).
class ChannelSettings {
public:
    virtual ~ChannelSettings() = default;
};

struct Person;

/// What the loader knows of one chat notifier (notify::Notifier::Schema).
struct NotifierSchema {
    std::string name{};  // the outbox channel, e.g. "telegram"
    /// The `[[tenant.person]]` key that holds a person's address on it (e.g. "telegram",
    /// "slack_webhook"); empty: people have none there.
    std::string person_key{};
    /// The `[[tenant.team]]` key that holds a team's group address on it (e.g. "chat"); empty:
    /// teams have none there.
    std::string team_key{};
    /// Its addresses are credentials (a webhook URL): never logged, never shown whole.
    bool secret_addresses = false;
    /// People can link an address themselves (Telegram's /start CODE): the tenant uses it even
    /// when no person has an address on it yet.
    bool links_by_code = false;
    /// Checks one address as written in the config: a problem to report, or empty.
    std::function<std::string(const std::string& address)> check_address{};
    /// Reads the notifier's keys of the tenant's `[tenant.chat]` and reports their problems
    /// through `chat`; null when the tenant does not use the notifier. Not called for a tenant
    /// without `[tenant.chat]`.
    std::function<std::shared_ptr<const ChannelSettings>(TableReader& chat,
                                                         const std::string& base_dir)>
        parse{};
    /// The address a person has on it when their person_key is absent (Bitrix24 notifications:
    /// the crm_user, when it is a Bitrix24 user id); empty function or empty answer: none.
    /// Applied only for tenants that use the notifier.
    std::function<std::string(const Person& person)> implied_address{};
    /// The only CRM whose tenants may use it (Bitrix24 notifications: "bitrix24"; empty: any);
    /// a tenant of another CRM whose `[tenant.chat]` turns it on gets a problem on `switch_key`.
    std::string crm{};
    std::string switch_key{};
};
using NotifierSchemas = std::vector<NotifierSchema>;

/// Everything the loader reads through the components of the program (src/app lists them).
struct Schemas {
    Schemas(CrmSchemas crms_in = {}, NotifierSchemas notifiers_in = {})  // NOLINT: from CrmSchemas
        : crms(std::move(crms_in)), notifiers(std::move(notifiers_in)) {}
    CrmSchemas crms{};
    NotifierSchemas notifiers{};
};

/// Where the tenant's rules name a stage or a card field: what CheckNames compares with the CRM's
/// directory once it is known (a CRM tenant's config has no pipelines to check against).
struct NameRef {
    enum class Kind { kStage, kField };
    Kind kind = Kind::kStage;
    std::string name{};
    std::string file{};
    int line = 0;
    std::string key{};
};

/// A CRM user the rules may name, as `[[tenant.person]]` describes them.
enum class Role { kManager, kHead };
struct Person {
    std::string crm_user{};  // the CRM's user id, or the user's name as the CRM shows it
    std::string name{};
    Role role = Role::kManager;
    std::string team{};
    /// Their addresses by channel (the notifiers' person_key values), as configured.
    std::map<std::string, std::string> addresses{};
    int source_line = 0;
};

/// `[[tenant.team]]`: a head of sales and their managers (the people whose team it is).
struct Team {
    std::string id{};
    std::string head{};  // crm_user of the head
    /// The team's group addresses by channel (the notifiers' team_key values).
    std::map<std::string, std::string> chats{};
    int source_line = 0;
};

/// The CRM-neutral part of `[tenant.chat]`: when and how often people hear from funnelguard.
struct ChatSettings {
    bool configured = false;                       // the tenant has a [tenant.chat]
    Duration digest = Duration::zero();            // 0: each violation at once
    Duration cooldown = std::chrono::minutes{10};  // per person; a digest counts as one
    int work_start_minute = 9 * 60;                // local time of day, in minutes
    int work_end_minute = 19 * 60;                 // 24 * 60: until midnight
    std::array<bool, 7> working_days = {true, true, true, true, true, false, false};  // mon..sun
    std::optional<int> morning_summary_minute = 9 * 60 + 30;  // nullopt: off
};

struct TenantConfig {
    std::string id{};
    std::string crm{};
    bool pipelines_from_api = false;     // its CRM's schema: pipelines come from the CRM's API
    bool crm_delivers_messages = false;  // its CRM's schema: the CRM sink takes chat messages
    std::string secret{};
    std::string timezone = "Europe/Moscow";
    std::string locale = "ru";
    Mode mode = Mode::kWarn;
    std::string reconcile_at = "03:00";  // local time of the nightly run
    std::vector<domain::Pipeline> pipelines{};
    RulesConfig rules{};
    std::shared_ptr<const CrmSettings> crm_settings{};  // [tenant.<crm>], by its adapter
    std::map<std::string, std::string> templates{};     // message template overrides, by key
    /// The chat notifiers it uses, by channel name, with their `[tenant.chat]` settings.
    std::map<std::string, std::shared_ptr<const ChannelSettings>> chat_channels{};
    ChatSettings chat{};
    std::vector<Person> people{};
    std::vector<Team> teams{};
    /// How a deal is opened in the CRM, with `{deal}` for its id (amoCRM and Bitrix24: set by
    /// the adapter from the account address; generic: `[tenant.generic] deal_url`); empty: no
    /// link.
    std::string deal_url{};
    std::string source_file{};     // where it was defined, for messages
    int source_line = 0;           // the line of its [[tenant]]
    std::vector<NameRef> names{};  // stages and fields the rules name

    /// The tenant's `[tenant.<crm>]` settings as the adapter's type, or null when they are of
    /// another type (or absent).
    template <class Settings>
    const Settings* CrmSettingsAs() const {
        return dynamic_cast<const Settings*>(crm_settings.get());
    }
    /// The notifier `channel`'s settings as its type, or null (not used, or of another type).
    template <class Settings>
    const Settings* ChannelSettingsAs(const std::string& channel) const {
        const auto found = chat_channels.find(channel);
        return found == chat_channels.end() ? nullptr
                                            : dynamic_cast<const Settings*>(found->second.get());
    }
    /// Where its chat messages (notify, escalate) can go: the CRM channel when its receiver
    /// takes them, then its notifiers' channels. Empty: messages are not planned.
    std::vector<std::string> MessageChannels() const;
};

struct ServerConfig {
    std::string listen = "127.0.0.1:8080";
    std::string public_url{};
    std::string admin_token{};
    std::size_t max_body_bytes = 1048576;
    int threads = 64;
};

struct StorageConfig {
    std::string path = "funnelguard.db";
};

struct LogConfig {
    std::string level = "info";
};

struct AppConfig {
    ServerConfig server{};
    StorageConfig storage{};
    LogConfig log{};
    std::string tenants_dir{};
    std::vector<TenantConfig> tenants{};

    const TenantConfig* FindTenant(const std::string& id) const;
};

/// One problem found in a config file.
struct ConfigProblem {
    std::string file{};
    int line = 0;  // 0 when unknown
    /// Dotted path, e.g. `tenant "acme".rules.deal_without_task.grace` (a tenant without a valid
    /// id: `tenant[0]...`).
    std::string key{};
    std::string message{};
};

/// "file:line: key: message"; the line and the key are left out when unknown (0 / empty).
std::string FormatProblem(const ConfigProblem& problem);

/// Loads `path` and every *.toml in its `tenants_dir` (relative to the file's folder), expands
/// ${ENV}, validates everything and returns every problem found, not just the first.
struct LoadResult {
    AppConfig config{};
    std::vector<ConfigProblem> problems{};
    bool ok() const { return problems.empty(); }
};
LoadResult LoadConfig(const std::string& path, const Schemas& schemas);
/// The same from text (tests); `file` names it in problems; tenants_dir resolves against
/// `base_dir`.
LoadResult LoadConfigFromString(const std::string& text, const std::string& file,
                                const Schemas& schemas, const std::string& base_dir = ".");

/// What a loaded config asks for that will not happen as written (`config check` and `serve`
/// print them; nothing fails): e.g. a rule listing notify or escalate on a tenant with no chat to
/// send them to, whose messages are then not planned.
std::vector<ConfigProblem> Warnings(const AppConfig& config);

/// The names a CRM account knows: its stages (every pipeline) and its deal fields (nullopt: not
/// known, e.g. a generic tenant or a directory stored before field names were kept).
struct KnownNames {
    std::vector<std::string> stages{};
    std::optional<std::vector<std::string>> fields{};
};
/// Every stage or field the tenant's rules name that `known` lacks, with the file, line and key
/// where the rules name it, and a suggestion when a known name is close. A misspelt name would
/// otherwise judge nothing, silently.
std::vector<ConfigProblem> CheckNames(const TenantConfig& tenant, const KnownNames& known);

std::string_view ToString(ActionKind kind);
std::string_view ToString(Mode mode);

}  // namespace fg::config
