#pragma once

// The adapter contract suite (issue 9 point 7): what every CRM adapter must do, written once
// (the *_contract_test.cpp files) and run against each adapter's fixture (fixtures.cpp lists
// them). A fixture supplies what only its CRM knows: real webhook bodies, its stand-in CRM (a
// fake API or its simulator), and how its tenant's config section points there. The harness
// below does the rest the same way for every adapter, through the adapter port alone.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <httplib.h>

#include "src/common/clock.hpp"
#include "src/common/time.hpp"
#include "src/config/config.hpp"
#include "src/crm/port.hpp"
#include "src/domain/model.hpp"
#include "src/outbox/action.hpp"
#include "tests/support/process.hpp"

namespace fg::contract {

/// The CRM time every contract runs at (fixtures start their simulators at it too).
Timestamp ContractStart();

/// A webhook body its CRM sends, and what it decodes to: one Describe() line per event, in order.
struct Sample {
    std::string name{};
    std::string body{};
    std::vector<std::string> events{};
    /// When set, the dedupe key the body must have: the one inboxes of earlier builds hold, so
    /// that a redelivery across an upgrade is still a duplicate.
    std::string dedupe_key{};
};

/// One event as a line, e.g. "deal.upserted 101 main/Квалификация @2026-11-02T06:00:00Z": what
/// the contracts compare decoded events by.
std::string Describe(const domain::Event& event);

/// What a fixture started to stand in for its CRM (a fake API, a simulator). Stops when
/// destroyed.
class Crm {
public:
    virtual ~Crm() = default;
    /// Where the adapter's outbound calls go: the `api_url` of Fixture::TenantToml.
    virtual std::string Url() const = 0;
};

/// A CRM that holds more deals than one page of the adapter's pull carries.
struct PullCrm {
    std::unique_ptr<Crm> crm{};
    std::vector<std::string> deals{};  // their ids as the adapter's events name them
    std::size_t page_size = 0;         // the most deals one page of the pull carries
};

/// A deal of an EchoCrm, named as the adapter's events name it.
struct EchoDeal {
    std::string id{};
    std::string pipeline{};
    std::string stage{};          // where it is: a stage after the first
    std::string earlier_stage{};  // where a revert may move it
    std::string responsible{};    // a user of the account
};

/// A CRM that sends its webhooks for every change, whoever made it (funnelguard's writes too),
/// to the hook its adapter's Connector::Connect registered.
class EchoCrm : public Crm {
public:
    /// A new deal, created by a manager of the account.
    virtual EchoDeal CreateDeal() = 0;
    /// Waits until the webhooks of everything done so far have been sent.
    virtual void WaitWebhooksSent() = 0;
};

/// One adapter as the contracts see it. Every method may be called more than once; each Start*
/// starts a fresh CRM. A contract that an adapter cannot take part in is answered with a null
/// CRM and the reason (Why*), which the contract checks where it can and reports.
class Fixture {
public:
    virtual ~Fixture() = default;

    virtual const crm::Adapter& adapter() const = 0;
    /// True for an adapter of the program (app::CrmAdapters()), false for a test adapter that
    /// exercises a part of the harness no registered adapter uses yet.
    virtual bool registered() const { return true; }

    /// The lines of a `[[tenant]]` table after its id, crm, secret and mode: its pipelines (for
    /// an adapter whose tenants list them) and its adapter's section, with the adapter's outbound
    /// calls going to `api_url` (empty: nothing was started there; the section must still load).
    virtual std::string TenantToml(const std::string& api_url) const = 0;

    /// Real webhook bodies of the CRM, at least two, each a different delivery.
    virtual std::vector<Sample> Samples() const = 0;
    /// The API the samples' names come from (amoCRM: the account's pipelines and fields, read
    /// through the adapter's connector before decoding, as serve does at start), or null.
    virtual std::unique_ptr<Crm> StartSampleApi() const { return nullptr; }
    /// Credential::kBodyToken adapters: `body` with `token` where the CRM puts it.
    virtual std::string WithBodyToken(const std::string& body, const std::string& token) const;

    /// A CRM with more deals than one page, or null when the adapter reads no CRM (WhyNoPull).
    virtual PullCrm StartPullCrm() const { return {}; }
    virtual std::string WhyNoPull() const { return {}; }

    /// A CRM that echoes the adapter's writes, or null when its receiver does not (WhyNoEcho).
    virtual std::unique_ptr<EchoCrm> StartEchoCrm() const { return nullptr; }
    virtual std::string WhyNoEcho() const { return {}; }

    /// Whether the adapter writes actions anywhere; false needs WhyNoSink.
    virtual bool HasSink() const { return true; }
    virtual std::string WhyNoSink() const { return {}; }
    /// A deal id the CRM's API takes (the sink contract's receiver checks nothing else).
    virtual std::string SinkDeal() const { return "101"; }
    /// The body a 2xx answer to a write carries.
    virtual std::string AcceptedBody() const { return "{}"; }

    /// Credentials of the fixture's CRM API (tokens): never in an error or a response.
    virtual std::vector<std::string> Secrets() const { return {}; }
    /// Credentials the samples' bodies (with the tenant's token, WithBodyToken) carry that the
    /// adapter must scrub before a body is stored (crm::Adapter::Scrub), e.g. OAuth tokens.
    virtual std::vector<std::string> BodySecrets() const { return {}; }
};

/// The fixtures the contracts run against (fixtures.cpp), each made afresh.
std::vector<std::unique_ptr<Fixture>> AllFixtures();

/// Runs `contract(fixture)` for every fixture, each in a SUBCASE named after its adapter, so a
/// failure names the adapter and the others still run.
template <class Contract>
void ForEachFixture(Contract&& contract) {
    for (const std::unique_ptr<Fixture>& fixture : AllFixtures()) {
        const std::string name(fixture->adapter().Name());
        SUBCASE(name.c_str()) { contract(*fixture); }
    }
}

/// The webhook secrets of the two tenants every contract config has.
inline constexpr const char* kTenant = "acme";
inline constexpr const char* kTenantSecret = "acme-hook-secret-7f3a9c";
inline constexpr const char* kOtherTenant = "beta";
inline constexpr const char* kOtherTenantSecret = "beta-hook-secret-0b61d4";

/// A fixture's adapter bound to a config of two tenants (acme, beta) whose outbound calls go to
/// `api_url`: what one funnelguard process makes of it. Its connector and sink are made on first
/// use, as the engine makes them.
class Bound {
public:
    Bound(const Fixture& fixture, const std::string& api_url);
    ~Bound();
    Bound(const Bound&) = delete;
    Bound& operator=(const Bound&) = delete;

    const config::AppConfig& config() const { return config_; }
    const config::TenantConfig& tenant() const;  // acme
    ManualClock& clock() { return clock_; }
    crm::AdapterInstance& instance() { return *instance_; }
    const std::string& db_path() const { return db_path_; }

    /// The tenant's connector (null when the adapter has none).
    crm::Connector* connector();
    /// Where the tenant's actions go: its connector's sink, else the instance's (null: none).
    outbox::ActionSink* sink();

private:
    testing::TempDir dir_;
    std::string db_path_;
    ManualClock clock_;
    config::AppConfig config_{};
    std::unique_ptr<crm::AdapterInstance> instance_;
    bool connector_made_ = false;
    std::unique_ptr<crm::Connector> connector_;
    bool sink_made_ = false;
    outbox::PacedSink sink_{};
};

/// What a contract writes back; the three kinds whose echo a CRM sends.
enum class Write { kNote, kTask, kRevert };

/// An action as a contract means it, whatever shape outbox::Action gives it.
struct ActionSpec {
    Write kind = Write::kNote;
    std::string tenant = kTenant;
    std::string deal{};
    std::string text{};
    std::string responsible{};  // the deal's, and a task's
    Timestamp due{};            // a task's
    std::string pipeline{};     // a revert's, and its stages
    std::string from{};
    std::string to{};
    std::int64_t violation = 1;
    int attempt = 1;
};

/// The one place that builds outbox::Action values: when the action's payload changes shape,
/// only this function follows.
outbox::Action MakeAction(const ActionSpec& spec);

/// A webhook request as its CRM would post it to the HTTP layer.
struct HookRequest {
    std::string path{};
    httplib::Headers headers{};
    std::string body{};
};

/// `body` posted for `tenant` the way the fixture's adapter takes its credential (path segment,
/// bearer header or token in the body), showing `secret`; an empty `secret` shows none.
HookRequest MakeHookRequest(const Fixture& fixture, const std::string& tenant,
                            const std::string& body, const std::string& secret);

/// The real HTTP layer (src/http) and the engine's intake for a fixture's tenants: webhooks are
/// authenticated and stored, never processed, so the inbox shows what was let in.
class Intake {
public:
    explicit Intake(const Fixture& fixture);
    ~Intake();
    Intake(const Intake&) = delete;
    Intake& operator=(const Intake&) = delete;

    httplib::Result Post(const HookRequest& request);
    /// Webhooks stored (and not processed) so far.
    std::int64_t Stored();
    /// Their bodies, as the inbox holds them.
    std::vector<std::string> StoredBodies();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace fg::contract
