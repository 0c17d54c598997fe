// libFuzzer target: the config loader (src/config, through LoadConfigFromString, the entry point
// tests use).
//
// Input: the text of a main config file, loaded as "fuzz.toml" from bench/fuzz/config_root (so
// `tenants_dir = "tenants"` loads the tenant file there). The environment holds the variables the
// example configs reference, their values marked "zq-secret-". Checks, besides the sanitizers and
// libFuzzer's catch of escaping exceptions: every problem has a file and a message, and problems
// come file by file in line order; a problem of a secret key (secret, token, client_secret,
// admin_token) never quotes a value from the environment; a config without problems holds what
// the loader promises to have checked (tenant ids valid and unique, secrets set, known time
// zones, the pipelines each CRM needs, server limits in range).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "adapters/amocrm/config.hpp"
#include "bench/fuzz/support.hpp"
#include "src/app/adapters.hpp"
#include "src/common/time.hpp"
#include "src/config/config.hpp"

#ifndef FG_FUZZ_CONFIG_ROOT
#error "FG_FUZZ_CONFIG_ROOT must name bench/fuzz/config_root"
#endif

namespace {

constexpr std::string_view kSecretMark = "zq-secret-";

constexpr const char* kSecretVariables[] = {
    "ACME_HOOK_SECRET",   "BETA_HOOK_SECRET",        "BETA_AMOCRM_TOKEN",
    "BETA_CLIENT_SECRET", "FUNNELGUARD_ADMIN_TOKEN", "FG_FUZZ_SECRET",
};

bool IsSecretKey(std::string_view key) {
    for (const std::string_view name : {"secret", "token", "client_secret", "admin_token"}) {
        if (key == name || (key.ends_with(name) && key[key.size() - name.size() - 1] == '.')) {
            return true;
        }
    }
    return false;
}

bool IsTenantId(std::string_view id) {
    if (id.empty()) {
        return false;
    }
    for (const char c : id) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

void CheckAccepted(const fg::config::AppConfig& config) {
    FG_FUZZ_CHECK(config.server.threads >= 1 && config.server.threads <= 1024, "server.threads");
    FG_FUZZ_CHECK(config.server.max_body_bytes >= 1, "server.max_body_bytes");
    FG_FUZZ_CHECK(!config.storage.path.empty(), "storage.path");
    const std::set<std::string> levels = {"debug", "info", "warn", "error"};
    FG_FUZZ_CHECK(levels.contains(config.log.level), "log.level " + config.log.level);
    std::set<std::string> ids;
    for (const fg::config::TenantConfig& tenant : config.tenants) {
        FG_FUZZ_CHECK(IsTenantId(tenant.id), "tenant id \"" + tenant.id + "\"");
        FG_FUZZ_CHECK(ids.insert(tenant.id).second, "duplicate tenant " + tenant.id);
        FG_FUZZ_CHECK(!tenant.secret.empty(), "tenant " + tenant.id + " without a secret");
        FG_FUZZ_CHECK(fg::IsKnownTimeZone(tenant.timezone), "time zone " + tenant.timezone);
        FG_FUZZ_CHECK(tenant.locale == "ru" || tenant.locale == "en", "locale " + tenant.locale);
        if (tenant.crm == "generic") {
            FG_FUZZ_CHECK(!tenant.pipelines.empty(), "a generic tenant without pipelines");
        } else {
            FG_FUZZ_CHECK(tenant.crm == "amocrm", "crm " + tenant.crm);
            FG_FUZZ_CHECK(tenant.pipelines.empty(), "an amocrm tenant with pipelines");
            FG_FUZZ_CHECK(!fg::adapters::amocrm::SettingsOf(tenant).subdomain.empty() ||
                              !fg::adapters::amocrm::SettingsOf(tenant).base_url.empty(),
                          "an amocrm tenant without an address");
            FG_FUZZ_CHECK(!fg::adapters::amocrm::SettingsOf(tenant).token.empty() ||
                              (!fg::adapters::amocrm::SettingsOf(tenant).client_id.empty() &&
                               !fg::adapters::amocrm::SettingsOf(tenant).client_secret.empty() &&
                               !fg::adapters::amocrm::SettingsOf(tenant).redirect_uri.empty()),
                          "an amocrm tenant without credentials");
            FG_FUZZ_CHECK(fg::adapters::amocrm::SettingsOf(tenant).rps > 0 &&
                              fg::adapters::amocrm::SettingsOf(tenant).rps <= 7,
                          "amocrm.rps");
        }
        FG_FUZZ_CHECK(tenant.reconcile_at.size() == 5 && tenant.reconcile_at[2] == ':',
                      "reconcile_at " + tenant.reconcile_at);
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    for (const char* name : kSecretVariables) {
        setenv(name, (std::string(kSecretMark) + name + "-0123456789").c_str(), 1);
    }
    setenv("FG_FUZZ_LISTEN", "127.0.0.1:8080", 1);
    setenv("FG_FUZZ_URL", "http://127.0.0.1:9100", 1);
    setenv("FG_FUZZ_EMPTY", "", 1);
    unsetenv("FG_FUZZ_UNSET");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const fg::config::LoadResult result = fg::config::LoadConfigFromString(
        text, "fuzz.toml", fg::app::CrmSchemas(), FG_FUZZ_CONFIG_ROOT);

    const bool quotes_mark = text.find(kSecretMark) != std::string::npos;
    std::string file;
    int line = 0;
    std::set<std::string> files_done;
    for (const fg::config::ConfigProblem& problem : result.problems) {
        const std::string shown = fg::config::FormatProblem(problem);
        FG_FUZZ_CHECK(!problem.file.empty() && !problem.message.empty(), "empty problem " + shown);
        FG_FUZZ_CHECK(problem.line >= 0, "negative line " + shown);
        if (problem.file != file) {
            FG_FUZZ_CHECK(files_done.insert(problem.file).second,
                          "problems of " + problem.file + " are not together");
            file = problem.file;
            line = 0;
        }
        FG_FUZZ_CHECK(problem.line >= line, "problems out of line order at " + shown);
        line = problem.line;
        FG_FUZZ_CHECK(quotes_mark || !IsSecretKey(problem.key) ||
                          problem.message.find(kSecretMark) == std::string::npos,
                      "a secret in a problem: " + shown);
    }
    if (result.ok()) {
        CheckAccepted(result.config);
    }
    return 0;
}
