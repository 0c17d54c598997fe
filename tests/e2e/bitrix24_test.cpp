// End to end against the Bitrix24 simulator: the portal runs in this process (real HTTP on
// 127.0.0.1, REST with the leaky bucket, form-encoded events posted once and never retried),
// `funnelguard serve`, `connect` and `reconcile` run as subprocesses, and managers act through the
// simulator's manager operations. Everything is checked where people would see it: in the portal.
//
// Time-based rules (grace, overdue) are judged by the minute sweep, which also runs right after
// `serve` starts: the tests restart `serve` once the grace has passed instead of waiting for the
// next clock minute.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/common/time.hpp"
#include "tests/support/bitrix24_settled.hpp"
#include "tests/support/process.hpp"
#include "tests/support/service.hpp"

namespace {

namespace sim = fg::adapters::bitrix24::sim;
using nlohmann::json;
using namespace std::chrono_literals;
using fg::testing::Eventually;
using fg::testing::Metric;
using fg::testing::Settled;

constexpr const char* kTenant = "acme";
constexpr const char* kAdmin = "admin-token-0123456789";
constexpr std::int64_t kManager = 7;  // Алексей Петров in the simulator's catalog

// What an OAuth app binds (an outbound webhook gets all but the pipeline move).
const std::set<std::string> kWebhookEvents = {
    "ONCRMDEALADD",        "ONCRMDEALUPDATE",        "ONCRMDEALDELETE", "ONCRMACTIVITYADD",
    "ONCRMACTIVITYUPDATE", "ONCRMACTIVITYDELETE",    "ONTASKADD",       "ONTASKUPDATE",
    "ONTASKDELETE",        "ONCRMTIMELINECOMMENTADD"};

// The API part of [tenant.bitrix24]: an OAuth app's or an inbound webhook's.
std::string AppAccess(const sim::Simulator& portal, const fg::testing::TempDir& dir) {
    return fmt::format(
        "client_id = \"{}\"\n  client_secret = \"{}\"\n  token_file = \"{}\"\n  oauth_url = \"{}\"",
        portal.ClientId(), portal.ClientSecret(), dir.File("b24-acme.json"), portal.Url());
}
std::string WebhookAccess(const sim::Simulator& portal) {
    return fmt::format("webhook_user = {}\n  webhook_token = \"{}\"", portal.WebhookUser(),
                       portal.WebhookToken());
}

std::string Config(const fg::testing::TempDir& dir, const sim::Simulator& portal, int port,
                   const std::string& access, const std::string& pace, const std::string& mode,
                   const std::string& rules) {
    return fmt::format(R"(
[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
admin_token = "{admin}"
[storage]
path = "{db}"
[log]
level = "warn"

[[tenant]]
id = "{tenant}"
crm = "bitrix24"
secret = "{secret}"
timezone = "Europe/Moscow"
mode = "{mode}"
  [tenant.bitrix24]
  portal_url = "{url}"
  {access}
  {pace}
  [tenant.rules.actual_stage]
  enabled = false
{rules}
)",
                       fmt::arg("port", port), fmt::arg("admin", kAdmin),
                       fmt::arg("db", dir.File("fg.db")), fmt::arg("tenant", kTenant),
                       fmt::arg("secret", portal.ApplicationToken()), fmt::arg("mode", mode),
                       fmt::arg("url", portal.Url()), fmt::arg("access", access),
                       fmt::arg("pace", pace), fmt::arg("rules", rules));
}

// The app as installed: its token pair in token_file (0600), as the install handler leaves it.
void InstallApp(sim::Simulator& portal, const fg::testing::TempDir& dir) {
    const sim::SimTokens tokens = portal.IssueTokens();
    const std::string path = dir.Write(
        "b24-acme.json",
        json{{"access_token", tokens.access_token}, {"refresh_token", tokens.refresh_token}}
            .dump());
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// serve as these tests run it: ready once the portal's directory (pipelines, stages, users,
// fields) is loaded; the helpers address kTenant with kAdmin.
class Service : public fg::testing::Service {
public:
    Service(const std::string& config_path, int port)
        : fg::testing::Service(
              config_path, port,
              {.binary = FG_BINARY, .tenant = kTenant, .admin_token = kAdmin, .wait_ready = true}) {
    }
    httplib::Result PostEvent(const std::string& body) {
        return PostHook("bitrix24", body, "application/x-www-form-urlencoded");
    }
};

std::uint64_t Count(const std::map<std::string, std::uint64_t>& counts, const std::string& key) {
    const auto found = counts.find(key);
    return found == counts.end() ? 0 : found->second;
}

std::int64_t NewDeal(sim::Simulator& portal, const std::string& title) {
    auto deal = portal.CreateDeal({.title = title, .assigned_by = kManager}, kManager);
    REQUIRE_MESSAGE(deal, title);
    return *deal;
}

// Comments and to-dos that funnelguard wrote (managers here act as kManager only).
std::vector<sim::SimComment> CommentsByFunnelguard(const sim::Simulator& portal,
                                                   std::int64_t deal) {
    std::vector<sim::SimComment> comments;
    for (const sim::SimComment& comment : portal.DealComments(deal)) {
        if (comment.author != kManager) {
            comments.push_back(comment);
        }
    }
    return comments;
}
std::vector<sim::SimActivity> TodosByFunnelguard(const sim::Simulator& portal, std::int64_t deal) {
    std::vector<sim::SimActivity> todos;
    for (const sim::SimActivity& todo : portal.DealActivities(deal)) {
        if (todo.author != kManager) {
            todos.push_back(todo);
        }
    }
    return todos;
}

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

fg::Timestamp Now() {
    return std::chrono::time_point_cast<fg::Duration>(std::chrono::system_clock::now());
}

std::string Connect(const std::string& config) {
    return fg::testing::Connect(FG_BINARY, config, kTenant);
}

// A file's bytes ("" when it does not exist).
std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

// Bitrix24 posts byte-identical bodies for two changes of one deal within one second (event,
// handler, id, ts; an app's OAuth tokens are scrubbed before the dedupe key): the revert's
// ONCRMDEALUPDATE, right after the skip's, must be fetched all the same (the inbox frees a key
// once its item is fetched), or the mirror keeps the skipped stage.
TEST_CASE(
    "bitrix24 app: connect binds the events; a skip, a deal without a to-do, an overdue to-do and "
    "a move without a comment are answered in the portal once, and their echoes raise nothing") {
    sim::Simulator portal({.seed = 3, .rate = 20, .burst = 100});
    REQUIRE(portal.Start());
    fg::testing::TempDir dir;
    InstallApp(portal, dir);
    const int port = fg::testing::StablePort();
    const std::string config = dir.Write(
        "fg.toml",
        Config(dir, portal, port, AppAccess(portal, dir), "rate = 20\n  burst = 100", "enforce", R"(
  [tenant.rules.stage_order]
  actions = ["note", "revert"]
  [tenant.rules.deal_without_task]
  grace = "2s"
  actions = ["task"]
  [tenant.rules.overdue_task]
  actions = ["note"]
  [tenant.rules.card_filled]
  note_per_stage = true
  actions = ["note"]
)"));
    auto service = std::make_unique<Service>(config, port);

    // connect: event.bind of every event funnelguard needs, at its hook URL; again: nothing new.
    const std::string hook = fmt::format("http://127.0.0.1:{}/hooks/bitrix24/{}", port, kTenant);
    CHECK(Contains(Connect(config), "webhook " + hook + " registered"));
    std::set<std::string> bound;
    for (const sim::SimHandler& handler : portal.Handlers()) {
        CHECK(handler.url == hook);
        CHECK(handler.app);
        bound.insert(handler.event);
    }
    std::set<std::string> expected = kWebhookEvents;
    expected.insert("ONCRMDEALMOVETOCATEGORY");  // an app can have it
    CHECK(bound == expected);
    const std::uint64_t binds = Count(portal.Stats().calls, "event.bind");
    CHECK(binds == expected.size());
    CHECK(Contains(Connect(config), "already registered"));
    CHECK(Count(portal.Stats().calls, "event.bind") == binds);

    const fg::Timestamp later = Now() + std::chrono::hours{48};
    // A: a manager skips "Квалификация" (after commenting, so the move itself is fine).
    const std::int64_t skipper = NewDeal(portal, "ООО «Ромашка»");
    REQUIRE(portal.AddTodo(skipper, "Созвон по КП", later, kManager));
    REQUIRE(portal.AddComment(skipper, "Клиент ждёт коммерческое предложение", kManager));
    // B: no to-do at all; C: a to-do that falls due in a few seconds.
    const std::int64_t bare = NewDeal(portal, "ИП Васильев");
    const std::int64_t late = NewDeal(portal, "АО «Просрочка»");
    const fg::Timestamp due = Now() + std::chrono::seconds{3};
    REQUIRE(portal.AddTodo(late, "Позвонить клиенту", due, kManager));
    // D: moved on one stage without a word in the timeline.
    const std::int64_t silent = NewDeal(portal, "ООО «Молчун»");
    REQUIRE(portal.AddTodo(silent, "Выслать договор", later, kManager));
    REQUIRE(Eventually([&] {
        for (const std::int64_t id : {skipper, bare, late, silent}) {
            const auto deal = service->Deal(id);
            if (!deal || (*deal)["stage"] != "Новая заявка") {
                return false;
            }
        }
        const auto a = service->Deal(skipper);
        const auto d = service->Deal(silent);
        return (*a)["tasks"].size() == 1 && (*a)["notes"].size() == 1 && (*d)["tasks"].size() == 1;
    }));
    REQUIRE(portal.MoveDeal(skipper, "PREPAYMENT_INVOICE", kManager));
    REQUIRE(portal.MoveDeal(silent, "PREPARATION", kManager));

    // The skip is reverted with a comment; its echo corrects the violation and raises nothing.
    REQUIRE(Eventually([&] {
        const auto deal = portal.GetDeal(skipper);
        return deal && deal->stage_id == "PREPARATION" &&
               !CommentsByFunnelguard(portal, skipper).empty() &&
               !CommentsByFunnelguard(portal, silent).empty();
    }));
    REQUIRE(Eventually([&] {
        const json resolved = service->Violations(fmt::format("state=resolved&deal={}", skipper));
        return resolved.size() == 1 && resolved[0]["resolution"] == "corrected";
    }));

    // Let the grace and the due time pass, then restart: the sweep right after start judges them.
    while (Now() < due + 2s) {
        std::this_thread::sleep_for(100ms);
    }
    CHECK(service->Stop(SIGTERM) == 0);
    service = std::make_unique<Service>(config, port);
    REQUIRE(Eventually([&] {
        return !TodosByFunnelguard(portal, bare).empty() &&
               !CommentsByFunnelguard(portal, late).empty();
    }));
    REQUIRE(Eventually([&] { return Settled(portal, *service); }));  // a duplicate would show

    // Each write reached the portal once, through the methods bitrix24.md names.
    const sim::SimStats stats = portal.Stats();
    CHECK(Count(stats.writes, "crm.timeline.comment.add") == 3);  // skip, overdue, silent move
    CHECK(Count(stats.writes, "crm.activity.todo.add") == 1);
    CHECK(Count(stats.writes, "crm.deal.update") == 1);
    CHECK(stats.events.failed == 0);
    CHECK(CommentsByFunnelguard(portal, skipper).size() == 1);
    CHECK(CommentsByFunnelguard(portal, silent).size() == 1);
    CHECK(CommentsByFunnelguard(portal, late).size() == 1);
    CHECK(CommentsByFunnelguard(portal, bare).empty());
    REQUIRE(TodosByFunnelguard(portal, bare).size() == 1);
    CHECK(TodosByFunnelguard(portal, bare)[0].responsible == kManager);
    for (const std::int64_t id : {skipper, late, silent}) {
        CHECK_MESSAGE(TodosByFunnelguard(portal, id).empty(), "deal ", id);
    }
    CHECK(portal.GetDeal(skipper)->stage_id == "PREPARATION");
    CHECK(portal.GetDeal(silent)->stage_id == "PREPARATION");

    // One violation per deal; the echoes of the revert, the to-do and the comments raised none.
    std::map<std::string, std::string> rules;
    for (const json& violation : service->Violations("state=all")) {
        CHECK_MESSAGE(rules.count(violation["deal"]) == 0, violation.dump());
        rules[violation["deal"]] = violation["rule"];
    }
    CHECK(rules == std::map<std::string, std::string>{{std::to_string(skipper), "stage_order"},
                                                      {std::to_string(bare), "deal_without_task"},
                                                      {std::to_string(late), "overdue_task"},
                                                      {std::to_string(silent), "card_filled"}});
    // The mirror knows which changes were funnelguard's own.
    const auto reverted = service->Deal(skipper);
    REQUIRE(reverted);
    CHECK((*reverted)["stage"] == "Квалификация");
    CHECK((*reverted)["stage_history"].back()["by_funnelguard"] == true);
    const auto planned = service->Deal(bare);
    REQUIRE(planned);
    REQUIRE((*planned)["tasks"].size() == 1);
    CHECK((*planned)["tasks"][0]["by_funnelguard"] == true);
    CHECK(service->Stop(SIGTERM) == 0);

    // The app's events carried live OAuth tokens: the stored bodies keep none of them.
    const std::string stored = Slurp(dir.File("fg.db")) + Slurp(dir.File("fg.db-wal"));
    CHECK(Contains(stored, "ONCRMDEALUPDATE"));  // the bodies are there
    CHECK_FALSE(Contains(stored, "access_token"));
    CHECK_FALSE(Contains(stored, "refresh_token"));
}

namespace {

// An event as the portal posts it to an outbound webhook's handler.
std::string EventBody(const std::string& event, std::int64_t deal, const std::string& token) {
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {"event", event},
        {"event_handler_id", "7"},
        {"data[FIELDS][ID]", std::to_string(deal)},
        {"ts", "1793422800"},
        {"auth[domain]", "sim.bitrix24.ru"},
        {"auth[client_endpoint]", "https://sim.bitrix24.ru/rest/"},
        {"auth[server_endpoint]", "https://oauth.bitrix.info/rest/"},
        {"auth[member_id]", "d897063e1ce7c5eb9f04b9751eef5915"},
        {"auth[application_token]", token}};
    std::string body;
    for (const auto& [key, value] : pairs) {
        if (key == "auth[application_token]" && value.empty()) {
            continue;
        }
        body += (body.empty() ? "" : "&") + httplib::detail::encode_query_param(key) + "=" +
                httplib::detail::encode_query_param(value);
    }
    return body;
}

}  // namespace

TEST_CASE(
    "bitrix24 inbound webhook: connect prints the outbound webhook's settings and binds nothing; "
    "its events work; a forged application token is refused and fetches nothing; leads and "
    "contacts are acknowledged as ignored") {
    sim::Simulator portal({.seed = 5, .rate = 20, .burst = 100});
    REQUIRE(portal.Start());
    fg::testing::TempDir dir;
    const int port = fg::testing::StablePort();
    const std::string config = dir.Write(
        "fg.toml",
        Config(dir, portal, port, WebhookAccess(portal), "rate = 20\n  burst = 100", "enforce", R"(
  [tenant.rules.stage_order]
  actions = ["note", "revert"]
  [tenant.rules.deal_without_task]
  enabled = false
  [tenant.rules.overdue_task]
  enabled = false
  [tenant.rules.card_filled]
  enabled = false
)"));
    Service service(config, port);

    // connect: the settings the administrator enters, nothing bound (an inbound webhook cannot).
    const std::string hook = fmt::format("http://127.0.0.1:{}/hooks/bitrix24/{}", port, kTenant);
    const std::string printed = Connect(config);
    CHECK(Contains(printed, "enter these settings by hand"));
    CHECK(Contains(printed, "Handler URL: " + hook + "\n"));
    for (const std::string& event : kWebhookEvents) {
        CHECK_MESSAGE(Contains(printed, "    " + event + "\n"), event);
    }
    CHECK_FALSE(
        Contains(printed, "ONCRMDEALMOVETOCATEGORY\n"));  // an outbound webhook never gets it
    CHECK(Contains(printed, "Application token in this tenant's `secret`"));
    CHECK(Contains(printed, "auth[application_token]"));
    CHECK_FALSE(Contains(printed, portal.WebhookToken()));
    CHECK(portal.Handlers().empty());
    CHECK(Count(portal.Stats().calls, "event.bind") == 0);

    // The administrator saves the outbound webhook as printed.
    portal.AddOutboundWebhook(
        {.url = hook,
         .events = std::vector<std::string>(kWebhookEvents.begin(), kWebhookEvents.end())});
    const std::int64_t skipper = NewDeal(portal, "ООО «Ромашка»");
    REQUIRE(portal.AddTodo(skipper, "Созвон", Now() + std::chrono::hours{48}, kManager));
    REQUIRE(Eventually([&] {
        const auto deal = service.Deal(skipper);
        return deal && (*deal)["stage"] == "Новая заявка" && (*deal)["tasks"].size() == 1;
    }));
    REQUIRE(portal.MoveDeal(skipper, "PREPAYMENT_INVOICE", kManager));
    REQUIRE(Eventually([&] {
        const json resolved = service.Violations(fmt::format("state=resolved&deal={}", skipper));
        return resolved.size() == 1 && resolved[0]["resolution"] == "corrected";
    }));
    REQUIRE(Eventually([&] { return Settled(portal, service); }));
    CHECK(portal.GetDeal(skipper)->stage_id == "PREPARATION");
    CHECK(CommentsByFunnelguard(portal, skipper).size() == 1);
    CHECK(Count(portal.Stats().writes, "crm.deal.update") == 1);
    CHECK(service.Violations("state=all").size() == 1);

    // A forged token and a missing one: 401 with the reason, nothing stored, nothing fetched.
    const sim::SimStats before = portal.Stats();
    const json counts_before = service.Inbox("applied")["counts"];
    for (const std::string& token : {std::string("forged-application-token"), std::string()}) {
        auto refused = service.PostEvent(EventBody("ONCRMDEALUPDATE", skipper, token));
        REQUIRE(refused);
        CHECK(refused->status == 401);
        CHECK(Contains(refused->body, "token"));
    }
    // The genuine body is taken (so the refusal above was the token's).
    auto genuine =
        service.PostEvent(EventBody("ONCRMDEALUPDATE", skipper, portal.ApplicationToken()));
    REQUIRE(genuine);
    CHECK(genuine->status == 200);
    CHECK(genuine->body == R"({"status":"stored"})");
    // Applied once the fetch stage has read its deal (Settled does not wait for the fetch stage).
    json counts_after;
    REQUIRE_MESSAGE(Eventually([&] {
                        counts_after = service.Inbox("applied")["counts"];
                        return counts_after["applied"] == counts_before["applied"].get<int>() + 1;
                    }),
                    "inbox before: " << counts_before.dump() << " after: " << counts_after.dump());
    REQUIRE(Eventually([&] { return Settled(portal, service); }));
    CHECK(counts_after["failed"] == 0);
    // The genuine one fetched its deal once; the refused ones nothing.
    const sim::SimStats after = portal.Stats();
    CHECK(Count(after.calls, "crm.deal.get") == Count(before.calls, "crm.deal.get") + 1);
    CHECK(Metric(service.Metrics(),
                 "funnelguard_webhooks_rejected_total{crm=\"bitrix24\",reason=\"unauthorized\"}") ==
          2);

    // Entities the rules do not judge: acknowledged, counted as ignored, nothing fetched.
    // (An administrator who ticked a lead's and a contact's events too.)
    portal.AddOutboundWebhook({.url = hook, .events = {"ONCRMLEADADD", "ONCRMCONTACTUPDATE"}});
    const std::uint64_t requests = portal.Stats().requests;
    portal.RaiseOtherEvent("ONCRMLEADADD");
    portal.RaiseOtherEvent("ONCRMCONTACTUPDATE");
    REQUIRE(Eventually(
        [&] { return service.Inbox("ignored")["items"].size() == 2 && Settled(portal, service); }));
    CHECK(portal.Stats().events.failed == 0);  // both answered 200
    CHECK(portal.Stats().requests == requests);
    const std::string metrics = service.Metrics();
    CHECK(Metric(metrics,
                 "funnelguard_webhook_elements_ignored_total{crm=\"bitrix24\",entity=\"lead\"}") ==
          1);
    CHECK(
        Metric(metrics,
               "funnelguard_webhook_elements_ignored_total{crm=\"bitrix24\",entity=\"contact\"}") ==
        1);
    CHECK(Metric(metrics,
                 "funnelguard_inbox_processed_total{crm=\"bitrix24\",state=\"ignored\"}") == 2);
    CHECK(service.Violations("state=all").size() == 1);
    CHECK(service.Stop(SIGTERM) == 0);
}

namespace {

struct Summary {
    bool resumed = false;
    int pages = -1;
    int read = -1;
    int recovered = -1;
};

// The summary line reconcile prints on stdout: "acme: [resumed; ]P page(s), R event(s) read,
// N new on D deal(s), S stage change(s) recovered; ...".
Summary SummaryOf(const std::string& out) {
    Summary summary;
    const std::string prefix = std::string(kTenant) + ": ";
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(prefix, 0) != 0) {
            continue;
        }
        summary.resumed = Contains(line, "resumed; ");
        const auto number_before = [&line](const std::string& unit) {
            const std::size_t at = line.find(unit);
            if (at == std::string::npos) {
                return -1;
            }
            const std::size_t start = line.rfind(' ', at - 2) + 1;
            return std::stoi(line.substr(start, at - start));
        };
        summary.pages = number_before(" page(s)");
        summary.read = number_before(" event(s) read");
        summary.recovered = number_before(" stage change(s) recovered");
    }
    return summary;
}

}  // namespace

TEST_CASE(
    "bitrix24 reconcile: a pipeline move and a lost event are repaired; progress on stderr; a "
    "killed run resumes; the next run is incremental") {
    sim::Simulator portal({.seed = 9, .deals = 60, .rate = 20, .burst = 100});
    REQUIRE(portal.Start());
    fg::testing::TempDir dir;
    const int port = fg::testing::StablePort();
    // A slow pace, so that a run can be killed between its pages.
    const std::string config = dir.Write("fg.toml", Config(dir, portal, port, WebhookAccess(portal),
                                                           "rate = 4\n  burst = 4", "observe", ""));
    Service service(config, port);
    const std::string hook = fmt::format("http://127.0.0.1:{}/hooks/bitrix24/{}", port, kTenant);
    portal.AddOutboundWebhook({.url = hook, .events = {}});

    const std::int64_t quiet = NewDeal(portal, "ИП Тихонов");
    const std::int64_t mover = NewDeal(portal, "ООО «Переезд»");
    REQUIRE(Eventually([&] {
        const auto q = service.Deal(quiet);
        const auto m = service.Deal(mover);
        return q && m && (*q)["stage"] == "Новая заявка" && (*m)["stage"] == "Новая заявка";
    }));
    const std::string main_pipeline = (*service.Deal(mover))["pipeline"];
    REQUIRE(portal.WaitEventsIdle(10'000ms));

    // A lost event: the mirror misses a legit move until reconcile repairs it.
    const std::uint64_t dropped = portal.Stats().events.dropped;
    portal.DropEvents(1);
    REQUIRE(portal.MoveDeal(quiet, "PREPARATION", kManager));
    REQUIRE(portal.WaitEventsIdle(10'000ms));
    CHECK(portal.Stats().events.dropped == dropped + 1);
    // A move to another pipeline: an outbound webhook gets no event for it at all.
    const std::uint64_t queued = portal.Stats().events.queued;
    REQUIRE(portal.MoveDealToCategory(mover, 1, "C1:NEW", kManager));
    CHECK(portal.Stats().events.queued == queued);
    REQUIRE(Eventually([&] { return Settled(portal, service); }));
    CHECK((*service.Deal(quiet))["stage"] == "Новая заявка");
    CHECK((*service.Deal(mover))["stage"] == "Новая заявка");

    // 1. Killed after its first page of deals (each page is committed with its cursor).
    const std::vector<std::string> reconcile = {FG_BINARY, "reconcile", "--config",
                                                config,    "--tenant",  kTenant};
    std::string command = "exec";
    for (const std::string& arg : reconcile) {
        command += " '" + arg + "'";
    }
    {
        fg::testing::ChildProcess run({"/bin/sh", "-c", command + " 2>&1"});
        std::string seen;
        bool first_page = false;
        while (auto line = run.ReadLine(60s)) {
            seen += *line + "\n";
            if (Contains(*line, "reconcile: acme: deals: 1 page(s)")) {
                first_page = true;
                break;
            }
        }
        INFO(seen);
        REQUIRE(first_page);
        CHECK(run.Stop(SIGKILL) == 128 + SIGKILL);
    }

    // 2. The next run resumes after that page, reports its progress on stderr, and repairs both.
    const auto resumed = fg::testing::Run(reconcile, /*merge_stderr=*/true);
    INFO("resumed run: " << resumed.out);
    CHECK(resumed.status == 0);
    CHECK(Contains(resumed.out, "reconcile: acme: resuming the run that was stopped\n"));
    // One page reads up to 2,500 deals (a batch of chained lists): the killed run had read them
    // all, so the resumed one goes on with the stage history.
    CHECK(Contains(resumed.out, "reconcile: acme: stage history: "));
    const Summary second = SummaryOf(resumed.out);
    CHECK(second.resumed);
    CHECK(second.recovered > 0);
    REQUIRE(Eventually([&] {
        const auto q = service.Deal(quiet);
        const auto m = service.Deal(mover);
        return q && m && (*q)["stage"] == "Квалификация" && (*m)["stage"] == "Новая";
    }));
    const json moved = *service.Deal(mover);
    CHECK(moved["pipeline"] != main_pipeline);
    CHECK(moved["stage_history"].back()["pipeline"] == moved["pipeline"]);
    const json repaired = *service.Deal(quiet);
    const auto history = portal.DealHistory(quiet);
    REQUIRE_FALSE(history.empty());
    const auto at = fg::ParseIso8601(repaired["stage_history"].back()["at"].get<std::string>());
    REQUIRE(at);
    CHECK(*at == history.back().created);  // its portal time, not when reconcile found it

    // 3. The next run reads only what changed since the last one; stdout has the summary only.
    const std::string errors = dir.File("reconcile.err");
    const auto incremental = fg::testing::Run({"/bin/sh", "-c", command + " 2>'" + errors + "'"});
    const std::string progress = Slurp(errors);
    INFO("incremental run: " << incremental.out << "\nstderr: " << progress);
    CHECK(incremental.status == 0);
    CHECK_FALSE(Contains(incremental.out, "reconcile: acme:"));
    CHECK(Contains(progress, "reconcile: acme: changes since "));
    CHECK(Contains(progress, "reconcile: acme: deals: 1 page(s), "));
    const Summary third = SummaryOf(incremental.out);
    CHECK_FALSE(third.resumed);
    CHECK(third.pages >= 2);  // deals, stage history
    CHECK(third.read >= 0);
    CHECK(third.read < second.read);
    CHECK(third.recovered == 0);
    CHECK(service.Stop(SIGTERM) == 0);
}
