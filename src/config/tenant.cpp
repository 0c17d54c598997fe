// One [[tenant]] table: identity, CRM, pipelines, rules, the generic adapter and templates.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "src/config/reader.hpp"
#include "src/tls/trust.hpp"

namespace fg::config::detail {
namespace {

bool IsValidClock(std::string_view text) {
    if (text.size() != 5 || text[2] != ':') {
        return false;
    }
    for (const std::size_t i : {0, 1, 3, 4}) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
    }
    const int hours = (text[0] - '0') * 10 + (text[1] - '0');
    const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    return hours < 24 && minutes < 60;
}

// Reads `key` and checks it against `allowed`, reporting the allowed values otherwise.
std::optional<std::string> OneOf(TableReader& reader, std::string_view key,
                                 const std::vector<std::string>& allowed) {
    auto value = reader.String(key);
    if (!value) {
        return std::nullopt;
    }
    if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) {
        return value;
    }
    reader.Problem(key, WithSuggestion(fmt::format("must be one of {}, not \"{}\"",
                                                   fmt::join(allowed, " | "), *value),
                                       *value, allowed));
    return std::nullopt;
}

// Checks the stage lists of one [[tenant.pipeline]] and builds the domain pipeline:
// intake stages first, then the funnel in order (open, then won), then lost ones.
std::optional<domain::Pipeline> ParsePipeline(TableReader& reader) {
    domain::Pipeline pipeline;
    bool ok = true;
    if (auto id = reader.String("id")) {
        if (id->empty()) {
            reader.Problem("id", "must not be empty");
            ok = false;
        }
        pipeline.id = *id;
    } else {
        if (reader.table().get("id") == nullptr) {
            reader.Problem("id", "required: the pipeline's id as the CRM events name it");
        }
        ok = false;
    }
    auto stages = reader.StringList("stages");
    if (!stages) {
        if (reader.table().get("stages") == nullptr) {
            reader.Problem("stages", "required: the open stages in order, then the won ones");
        }
        ok = false;
    } else if (stages->empty()) {
        reader.Problem("stages", "must list at least one stage");
        ok = false;
    }
    auto won = reader.StringList("won");
    auto lost = reader.StringList("lost");
    auto intake = reader.StringList("intake");
    if (!stages || (reader.table().get("won") != nullptr && !won) ||
        (reader.table().get("lost") != nullptr && !lost) ||
        (reader.table().get("intake") != nullptr && !intake)) {
        return std::nullopt;
    }
    const std::vector<std::pair<std::string, int>> none;
    const auto& won_list = won ? *won : none;
    const auto& lost_list = lost ? *lost : none;
    const auto& intake_list = intake ? *intake : none;

    // Every name once across stages, lost and intake: a stage has exactly one kind.
    std::map<std::string, std::string> seen;  // name -> list it first appeared in
    auto check_unique = [&](const std::vector<std::pair<std::string, int>>& list,
                            std::string_view key) {
        const std::string path = reader.Path(key);
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& [name, line] = list[i];
            if (name.empty()) {
                reader.sink().Add(line, IndexKey(path, i), "stage name must not be empty");
                ok = false;
                continue;
            }
            auto [it, inserted] = seen.emplace(name, std::string(key));
            if (!inserted) {
                reader.sink().Add(line, IndexKey(path, i),
                                  it->second == key
                                      ? fmt::format("duplicate stage \"{}\"", name)
                                      : fmt::format("stage \"{}\" is already listed in {}: a "
                                                    "stage has one kind",
                                                    name, it->second));
                ok = false;
            }
        }
    };
    check_unique(intake_list, "intake");
    check_unique(*stages, "stages");
    check_unique(lost_list, "lost");

    std::set<std::string> won_names;
    const std::string won_path = reader.Path("won");
    for (std::size_t i = 0; i < won_list.size(); ++i) {
        // Not a structured binding: the lambda below uses `name`, and clang before 16 cannot
        // capture one (the fuzz build, bench/fuzz, compiles with clang 14).
        const std::string& name = won_list[i].first;
        const int line = won_list[i].second;
        const bool in_stages = std::any_of(stages->begin(), stages->end(),
                                           [&](const auto& stage) { return stage.first == name; });
        if (!in_stages) {
            reader.sink().Add(line, IndexKey(won_path, i),
                              fmt::format("won stage \"{}\" is not in stages (list the open "
                                          "stages, then the won ones)",
                                          name));
            ok = false;
        }
        won_names.insert(name);
    }
    // The funnel order is open stages, then won ones: a won stage in the middle would make every
    // later open stage unreachable without a "skip".
    bool after_won = false;
    std::string first_won;
    int open_count = 0;
    for (const auto& [name, line] : *stages) {
        if (won_names.count(name) != 0) {
            if (!after_won) {
                first_won = name;
            }
            after_won = true;
            continue;
        }
        ++open_count;
        if (after_won) {
            reader.sink().Add(line, reader.Path("stages"),
                              fmt::format("open stage \"{}\" comes after won stage \"{}\": list "
                                          "the open stages first, then the won ones",
                                          name, first_won));
            ok = false;
        }
    }
    if (!stages->empty() && open_count == 0) {
        reader.Problem("stages", "must have at least one open stage (one not listed in won)");
        ok = false;
    }
    if (!ok) {
        return std::nullopt;
    }
    for (const auto& [name, line] : intake_list) {
        pipeline.stages.push_back({.name = name, .kind = domain::StageKind::kIntake});
    }
    for (const auto& [name, line] : *stages) {
        pipeline.stages.push_back({.name = name,
                                   .kind = won_names.count(name) != 0 ? domain::StageKind::kWon
                                                                      : domain::StageKind::kOpen});
    }
    for (const auto& [name, line] : lost_list) {
        pipeline.stages.push_back({.name = name, .kind = domain::StageKind::kLost});
    }
    return pipeline;
}

// Returns false when a pipeline was rejected: stage references cannot be checked then.
bool ParsePipelines(TableReader& tenant, TenantConfig& config) {
    const toml::node* node = tenant.Get("pipeline");
    if (node == nullptr) {
        return true;
    }
    const auto* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
        tenant.Problem("pipeline", "must be an array of tables: write [[tenant.pipeline]]");
        return false;
    }
    bool all_ok = true;
    const std::string path = tenant.Path("pipeline");
    std::map<std::string, int> ids;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::table& table = *array->get(i)->as_table();
        TableReader reader(table, IndexKey(path, i), tenant.sink(), tenant.Line("pipeline"));
        auto pipeline = ParsePipeline(reader);
        reader.RejectUnknownKeys();
        if (!pipeline) {
            all_ok = false;
            continue;
        }
        auto [it, inserted] = ids.emplace(pipeline->id, reader.line());
        if (!inserted) {
            reader.Problem("id", fmt::format("duplicate pipeline id \"{}\" (first at line {})",
                                             pipeline->id, it->second));
            continue;
        }
        config.pipelines.push_back(std::move(*pipeline));
    }
    return all_ok;
}

// The parts of an http(s) URL the transport rules look at.
struct UrlParts {
    bool https = false;
    bool has_userinfo = false;
    std::string host{};  // without brackets or port
};

UrlParts PartsOf(std::string_view url) {
    UrlParts parts;
    parts.https = url.rfind("https://", 0) == 0;
    std::string_view authority = url.substr(url.find("://") + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        parts.has_userinfo = true;
        authority = authority.substr(at + 1);
    }
    if (!authority.empty() && authority.front() == '[') {
        parts.host = std::string(authority.substr(1, authority.find(']') - 1));
    } else {
        parts.host = std::string(authority.substr(0, authority.rfind(':')));
    }
    return parts;
}

// `ca_file`: a PEM file of private CA certificates, read now so that a typo shows at config
// check, not at the first call. Relative names resolve against the defining file's folder.
std::optional<std::string> ReadCaFile(TableReader& reader, const std::string& base_dir) {
    auto file = reader.String("ca_file");
    if (!file) {
        return std::nullopt;
    }
    if (file->empty()) {
        reader.Problem("ca_file",
                       "must not be empty (leave it out to trust the system store only)");
        return std::nullopt;
    }
    std::string path = *file;
    if (!std::filesystem::path(path).is_absolute()) {
        path = (std::filesystem::path(base_dir) / path).lexically_normal().string();
    }
    if (auto checked = tls::CheckCaFile(path); !checked) {
        reader.Problem("ca_file", checked.error().message);
        return std::nullopt;
    }
    return path;
}

void ParseGeneric(TableReader& tenant, GenericConfig& config, const std::string& base_dir) {
    const toml::table* table = tenant.Table("generic");
    if (table == nullptr) {
        return;
    }
    TableReader reader(*table, tenant.Path("generic"), tenant.sink(), tenant.Line("generic"));
    if (auto url = reader.String("actions_url")) {
        if (!url->empty() && !IsHttpUrl(*url)) {
            reader.Problem("actions_url", "must be an http:// or https:// URL");
        } else if (!url->empty() && !PartsOf(*url).https && PartsOf(*url).has_userinfo &&
                   !tls::IsLoopbackHost(PartsOf(*url).host)) {
            // The payload may go over a private network in clear; a password may not.
            reader.Problem("actions_url",
                           "http:// with user:password@ would send the password unencrypted: use "
                           "https://, or http:// to a loopback address");
        } else {
            config.actions_url = *url;
        }
    }
    if (auto ca_file = ReadCaFile(reader, base_dir)) {
        if (config.actions_url.empty() || !PartsOf(config.actions_url).https) {
            reader.Problem("ca_file", "is for an https:// actions_url");
        } else {
            config.ca_file = *ca_file;
        }
    }
    if (auto rps = reader.Number("rps")) {
        if (!(*rps > 0)) {
            reader.Problem("rps", "must be greater than 0");
        } else {
            config.rps = *rps;
        }
    }
    reader.RejectUnknownKeys();
}

bool IsValidSubdomain(std::string_view name) {
    return !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-' &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
           });
}

// amoCRM's limit is 7 requests per second per integration; going over it repeatedly gets the
// account blocked (reference/amocrm.md §4), so config may not ask for more.
constexpr double kAmoCrmMaxRps = 7;

void ParseAmoCrm(TableReader& tenant, AmoCrmConfig& config, const std::string& base_dir) {
    const toml::table* table = tenant.Table("amocrm");
    if (table == nullptr) {
        tenant.sink().Add(tenant.line(), tenant.Path("amocrm"),
                          "an amocrm tenant needs [tenant.amocrm] with subdomain (or base_url) "
                          "and token (or client_id, client_secret and redirect_uri)");
        return;
    }
    TableReader reader(*table, tenant.Path("amocrm"), tenant.sink(), tenant.Line("amocrm"));
    if (auto subdomain = reader.String("subdomain")) {
        if (!IsValidSubdomain(*subdomain)) {
            reader.Problem("subdomain",
                           fmt::format("invalid subdomain \"{}\" (the part before .amocrm.ru, "
                                       "e.g. \"acme\" for acme.amocrm.ru)",
                                       *subdomain));
        } else {
            config.subdomain = *subdomain;
        }
    }
    if (auto url = reader.String("base_url")) {
        if (!IsHttpUrl(*url)) {
            reader.Problem("base_url", "must be an http:// or https:// URL");
        } else if (!PartsOf(*url).https && !tls::IsLoopbackHost(PartsOf(*url).host)) {
            // amoCRM accounts are HTTPS only; plain http elsewhere would carry the token in clear.
            reader.Problem("base_url",
                           "http:// would send the token unencrypted: use https://, or http:// "
                           "to a loopback address only (a simulator, a local proxy)");
        } else {
            config.base_url = *url;
            while (!config.base_url.empty() && config.base_url.back() == '/') {
                config.base_url.pop_back();
            }
        }
    }
    if (table->get("subdomain") == nullptr && table->get("base_url") == nullptr) {
        reader.Problem("subdomain", "required: the account's subdomain (or base_url)");
    }
    const std::pair<const char*, std::string*> credentials[] = {
        {"token", &config.token},
        {"client_id", &config.client_id},
        {"client_secret", &config.client_secret},
        {"redirect_uri", &config.redirect_uri},
    };
    for (const auto& [key, field] : credentials) {
        if (auto value = reader.String(key)) {
            if (value->empty()) {
                reader.Problem(key, "must not be empty");
            }
            *field = *value;
        }
    }
    const bool any_oauth = table->get("client_id") != nullptr ||
                           table->get("client_secret") != nullptr ||
                           table->get("redirect_uri") != nullptr;
    if (table->get("token") != nullptr && any_oauth) {
        reader.Problem("token",
                       "set either token (a long-lived token) or client_id, client_secret and "
                       "redirect_uri (OAuth 2.0), not both");
    } else if (table->get("token") == nullptr) {
        for (const auto* key : {"client_id", "client_secret", "redirect_uri"}) {
            if (table->get(key) == nullptr) {
                reader.Problem(key, any_oauth ? "required for OAuth 2.0 (with client_id, "
                                                "client_secret and redirect_uri)"
                                              : "required: token, or client_id, client_secret "
                                                "and redirect_uri for OAuth 2.0");
                if (!any_oauth) {
                    break;
                }
            }
        }
    }
    if (!config.redirect_uri.empty() && !IsHttpUrl(config.redirect_uri)) {
        reader.Problem("redirect_uri", "must be an http:// or https:// URL");
    }
    if (auto ca_file = ReadCaFile(reader, base_dir)) {
        if (!config.base_url.empty() && !PartsOf(config.base_url).https) {
            reader.Problem("ca_file", "is for an https:// base_url; this one is http://");
        } else {
            config.ca_file = *ca_file;
        }
    }
    if (auto rps = reader.Number("rps")) {
        if (!(*rps > 0) || *rps > kAmoCrmMaxRps) {
            reader.Problem("rps",
                           "must be greater than 0 and at most 7 (amoCRM's limit; going "
                           "over it gets the account blocked)");
        } else {
            config.rps = *rps;
        }
    }
    reader.RejectUnknownKeys();
}

bool IsTemplateKey(std::string_view key) {
    const auto dot = key.rfind('.');
    if (dot == std::string_view::npos) {
        return false;
    }
    const std::string_view rule = key.substr(0, dot);
    const std::string_view kind = key.substr(dot + 1);
    return (kind == "message" || kind == "task") &&
           std::find(kRuleIds.begin(), kRuleIds.end(), rule) != kRuleIds.end();
}

std::vector<std::string> TemplateKeys() {
    std::vector<std::string> keys;
    for (const std::string_view rule : kRuleIds) {
        keys.push_back(fmt::format("{}.message", rule));
        keys.push_back(fmt::format("{}.task", rule));
    }
    return keys;
}

void AddTemplate(TenantConfig& config, ProblemSink& sink, const std::string& name,
                 const toml::node& node, const std::string& path, int line) {
    if (!IsTemplateKey(name)) {
        sink.Add(line, path,
                 WithSuggestion(fmt::format("unknown template \"{}\" (use \"<rule id>.message\" "
                                            "or \"<rule id>.task\")",
                                            name),
                                name, TemplateKeys()));
        return;
    }
    if (const auto* text = node.as_string()) {
        config.templates[name] = text->get();
    } else {
        sink.Add(line, path, "must be a string");
    }
}

// Keys are "<rule id>.message" / "<rule id>.task". Written quoted they are one key; written bare
// (stage_order.message = "...") TOML nests them, which is accepted too.
void ParseTemplates(TableReader& tenant, TenantConfig& config) {
    const toml::table* table = tenant.Table("templates");
    if (table == nullptr) {
        return;
    }
    const std::string path = tenant.Path("templates");
    const int table_line = LineOf(*table, tenant.line());
    for (const auto& [key, node] : *table) {
        const std::string name{key.str()};
        const int line = LineOf(node, table_line);
        const auto* nested = node.as_table();
        if (nested != nullptr &&
            std::find(kRuleIds.begin(), kRuleIds.end(), name) != kRuleIds.end()) {
            for (const auto& [inner_key, inner] : *nested) {
                const std::string inner_name{inner_key.str()};
                AddTemplate(config, tenant.sink(), fmt::format("{}.{}", name, inner_name), inner,
                            JoinKey(JoinKey(path, name), inner_name), LineOf(inner, line));
            }
            continue;
        }
        AddTemplate(config, tenant.sink(), name, node, JoinKey(path, name), line);
    }
}

}  // namespace

TenantConfig ParseTenant(const toml::table& table, const std::string& path, ProblemSink& sink,
                         int line, const std::string& base_dir) {
    TenantConfig config;
    config.source_file = sink.file();
    ApplyRuleDefaults(config.rules);
    TableReader reader(table, path, sink, line);

    if (auto id = reader.String("id")) {
        if (!IsValidTenantId(*id)) {
            reader.Problem("id",
                           fmt::format("invalid tenant id \"{}\" (use a-z, 0-9, _ and -)", *id));
        }
        config.id = *id;
    } else if (table.get("id") == nullptr) {
        reader.Problem("id", "required: the tenant's id (a-z, 0-9, _ and -)");
    }
    if (auto crm = OneOf(reader, "crm", {"generic", "amocrm", "bitrix24"})) {
        config.crm = *crm;
        if (*crm == "bitrix24") {
            reader.Problem("crm",
                           fmt::format("crm \"{}\" is not available in this build yet", *crm));
        }
    }
    if (auto secret = reader.String("secret")) {
        if (secret->empty()) {
            reader.Problem("secret", "must not be empty");
        }
        config.secret = *secret;
    } else if (table.get("secret") == nullptr) {
        reader.Problem("secret",
                       "required: the webhook secret (keep it out of the file: \"${NAME}\")");
    }
    if (auto timezone = reader.String("timezone")) {
        if (!IsKnownTimeZone(*timezone)) {
            reader.Problem("timezone",
                           fmt::format("unknown time zone \"{}\" (use an IANA name such as "
                                       "\"Europe/Moscow\")",
                                       *timezone));
        } else {
            config.timezone = *timezone;
        }
    }
    if (auto locale = OneOf(reader, "locale", {"ru", "en"})) {
        config.locale = *locale;
    }
    if (auto mode = OneOf(reader, "mode", {"observe", "warn", "enforce"})) {
        config.mode = *mode == "observe" ? Mode::kObserve
                      : *mode == "warn"  ? Mode::kWarn
                                         : Mode::kEnforce;
    }
    if (auto at = reader.String("reconcile_at")) {
        if (!IsValidClock(*at)) {
            reader.Problem("reconcile_at",
                           fmt::format("invalid time \"{}\" (use HH:MM, e.g. \"03:00\")", *at));
        } else {
            config.reconcile_at = *at;
        }
    }

    const bool pipelines_ok = ParsePipelines(reader, config);
    if (config.crm == "generic" && config.pipelines.empty() && table.get("pipeline") == nullptr) {
        reader.sink().Add(reader.line(), reader.Path("pipeline"),
                          "a generic tenant needs at least one [[tenant.pipeline]]");
    }
    if (config.crm == "amocrm" && table.get("pipeline") != nullptr) {
        reader.sink().Add(reader.Line("pipeline"), reader.Path("pipeline"),
                          "an amocrm tenant reads its pipelines from the amoCRM API; remove "
                          "[[tenant.pipeline]]");
    }
    StageCatalog stages;
    stages.check = pipelines_ok && !config.pipelines.empty();
    stages.refs = &config.names;
    for (const domain::Pipeline& pipeline : config.pipelines) {
        for (const domain::Stage& stage : pipeline.stages) {
            if (stages.names.insert(stage.name).second) {
                stages.list.push_back(stage.name);
            }
        }
    }
    ParseRules(reader, config.rules, stages);
    ParseGeneric(reader, config.generic, base_dir);
    if (config.crm == "amocrm") {
        ParseAmoCrm(reader, config.amocrm, base_dir);
    } else if (table.get("amocrm") != nullptr) {
        reader.sink().Add(reader.Line("amocrm"), reader.Path("amocrm"),
                          fmt::format("[tenant.amocrm] is for crm = \"amocrm\"; this tenant's crm "
                                      "is \"{}\"",
                                      config.crm));
        reader.Known("amocrm");
    }
    ParseTemplates(reader, config);
    // The adapter section of a CRM this build lacks is covered by the crm problem above.
    if (config.crm == "bitrix24") {
        reader.Known(config.crm);
    }
    reader.RejectUnknownKeys();
    return config;
}

}  // namespace fg::config::detail
