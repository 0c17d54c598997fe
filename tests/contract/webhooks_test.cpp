// Contracts of the inbound half: every registered adapter has a fixture, its CRM's real webhooks
// decode (with the fetch stage, for thin ones) to the events they say, and a body's dedupe key is
// stable and its own.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/app/adapters.hpp"
#include "tests/contract/harness.hpp"

namespace fg::contract {
namespace {

// The events one per line, and the expected lines the same way: a mismatch shows both.
std::string LinesOf(const std::vector<domain::Event>& events) {
    std::string lines;
    for (const domain::Event& event : events) {
        lines += Describe(event) + "\n";
    }
    return lines;
}

std::string LinesOf(const std::vector<std::string>& expected) {
    std::string lines;
    for (const std::string& line : expected) {
        lines += line + "\n";
    }
    return lines;
}

// The decoded events, then what the tenant's fetcher makes of the body's thin elements
// (crm::Decoded::fetch), as the engine applies them once all are fetched.
std::vector<domain::Event> WithFetched(Bound& bound, const crm::Decoded& decoded) {
    std::vector<domain::Event> events = decoded.events;
    if (decoded.fetch.empty()) {
        return events;
    }
    const std::unique_ptr<crm::Fetcher> fetcher = bound.instance().MakeFetcher(bound.tenant());
    REQUIRE_MESSAGE(fetcher != nullptr, "thin elements need the adapter's fetcher");
    const std::vector<crm::Fetched> fetched = fetcher->Fetch(decoded.fetch);
    REQUIRE(fetched.size() == decoded.fetch.size());
    for (const crm::Fetched& one : fetched) {
        REQUIRE_MESSAGE(one.outcome == crm::Fetched::Outcome::kEvents, one.reason);
        events.insert(events.end(), one.events.begin(), one.events.end());
    }
    return events;
}

crm::WebhookRequest SampleRequest(const Fixture& fixture, const Sample& sample) {
    return {.tenant = kTenant,
            .content_type = std::string(fixture.adapter().MediaType()),
            .body = sample.body,
            .received_at = ContractStart()};
}

TEST_CASE("Contract: every registered adapter has a fixture") {
    const std::vector<std::unique_ptr<Fixture>> fixtures = AllFixtures();
    for (const crm::Adapter* adapter : app::CrmAdapters()) {
        CAPTURE(adapter->Name());
        CHECK_MESSAGE(std::any_of(fixtures.begin(), fixtures.end(),
                                  [adapter](const std::unique_ptr<Fixture>& fixture) {
                                      return &fixture->adapter() == adapter;
                                  }),
                      "add tests/contract/<adapter>_fixture.cpp and its line in fixtures.cpp");
    }
    for (const std::unique_ptr<Fixture>& fixture : fixtures) {
        CAPTURE(fixture->adapter().Name());
        const crm::Adapter* listed =
            crm::FindAdapter(app::CrmAdapters(), fixture->adapter().Name());
        // A test adapter must not pass for (or hide) a registered one of the same name.
        CHECK((listed == &fixture->adapter()) == fixture->registered());
        CHECK((listed == nullptr) == !fixture->registered());
    }
}

TEST_CASE("Contract: the CRM's real webhooks decode to the events they say") {
    ForEachFixture([](const Fixture& fixture) {
        const std::unique_ptr<Crm> api = fixture.StartSampleApi();
        Bound bound(fixture, api ? api->Url() : "");
        if (crm::Connector* connector = bound.connector(); connector != nullptr && api) {
            const Result<crm::Directory> directory = connector->FetchDirectory();
            REQUIRE_MESSAGE(directory, (directory ? "" : directory.error().message));
        }
        const std::unique_ptr<crm::WebhookDecoder> decoder = bound.instance().MakeDecoder();
        REQUIRE(decoder != nullptr);
        const std::vector<Sample> samples = fixture.Samples();
        REQUIRE(samples.size() >= 2);
        for (const Sample& sample : samples) {
            CAPTURE(sample.name);
            CHECK_FALSE(sample.events.empty());
            const crm::WebhookRequest request = SampleRequest(fixture, sample);
            const Result<void> valid = decoder->Validate(sample.body);
            CHECK_MESSAGE(valid, (valid ? "" : valid.error().message));

            const Result<crm::Decoded> decoded = decoder->DecodeElements(request);
            REQUIRE_MESSAGE(decoded, (decoded ? "" : decoded.error().message));
            CHECK(decoded->failed.empty());
            const std::vector<domain::Event> events = WithFetched(bound, *decoded);
            CHECK(LinesOf(events) == LinesOf(sample.events));
            for (const domain::Event& event : events) {
                if (const auto* upsert = std::get_if<domain::DealUpserted>(&event.body)) {
                    CHECK(upsert->deal.tenant == kTenant);
                }
                CHECK_FALSE(event.id.empty());
            }
            // The strict form (all or nothing: a thin body needs its fetch) and the intake's
            // one-parse form say the same.
            if (decoded->fetch.empty()) {
                const Result<std::vector<domain::Event>> strict = decoder->Decode(request);
                REQUIRE_MESSAGE(strict, (strict ? "" : strict.error().message));
                CHECK(LinesOf(*strict) == LinesOf(sample.events));
            }
            const Result<std::optional<crm::Decoded>> once = decoder->ValidateAndDecode(request);
            REQUIRE(once);
            REQUIRE(once->has_value());
            CHECK(LinesOf(WithFetched(bound, **once)) == LinesOf(sample.events));
        }
    });
}

TEST_CASE("Contract: a body's dedupe key is stable, and differs between bodies") {
    ForEachFixture([](const Fixture& fixture) {
        // Two processes' decoders: the key is stored, so a restart must compute the same one.
        Bound first(fixture, "");
        Bound second(fixture, "");
        const std::unique_ptr<crm::WebhookDecoder> one = first.instance().MakeDecoder();
        const std::unique_ptr<crm::WebhookDecoder> other = second.instance().MakeDecoder();
        std::set<std::string> keys;
        const std::vector<Sample> samples = fixture.Samples();
        for (const Sample& sample : samples) {
            CAPTURE(sample.name);
            const std::string key = one->DedupeKey(sample.body);
            CHECK_FALSE(key.empty());
            CHECK(one->DedupeKey(std::string(sample.body)) == key);
            CHECK(other->DedupeKey(sample.body) == key);
            if (!sample.dedupe_key.empty()) {
                CHECK(key == sample.dedupe_key);
            }
            keys.insert(key);
        }
        CHECK(keys.size() == samples.size());
    });
}

}  // namespace
}  // namespace fg::contract
