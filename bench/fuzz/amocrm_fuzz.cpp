// libFuzzer target: the amoCRM webhook decoder and mapper (adapters/amocrm/wire/decoder.cpp).
//
// Input: a webhook body, received at a fixed time, decoded by three decoders of tenant "acme"
// (zone Europe/Moscow): with the catalog of the fixtures' account (4 pipelines, each with its own
// 142/143), with a one-pipeline catalog, and with no catalog loaded. Checks what decoder.hpp
// promises:
// - nothing is kInternal (only allocation failures or a broken tz database may be);
// - Validate refuses only what is not a form, and then every call refuses with its error;
// - a body Validate accepts is never refused: DecodeElements gives its events and failed
//   elements (or kUnavailable for want of the catalog, the whole body waiting), ValidateAndDecode
//   the same result (nullopt on kUnavailable), and Decode, the strict form, its events when no
//   element failed, else the first failure as its kInvalidInput;
// - the one failure that depends on the catalog, a status in several pipelines without a
//   pipeline_id, never happens with the one-pipeline catalog;
// - without a catalog an accepted body decodes or is kUnavailable; when it decodes (no lead
//   card), the catalog changes nothing;
// - the catalog and zone sources are called at most once per call;
// - events carry non-empty ids (decimal, or "x" and 16 hex digits derived from the content),
//   UTF-8 texts, the request's tenant, and a pipeline and stage from the catalog; failures are
//   UTF-8.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/amocrm/wire/catalog.hpp"
#include "adapters/amocrm/wire/decoder.hpp"
#include "bench/fuzz/support.hpp"

namespace {

using fg::ErrorCode;
using fg::adapters::amocrm::AmoDecoder;
using fg::adapters::amocrm::Catalog;
using fg::fuzz::Describe;

constexpr std::string_view kTenant = "acme";

// The pipelines the captures of reference/amocrm.md §1.7 name (as tests/unit/adapters/amocrm/wire).
Catalog SampleCatalog() {
    Catalog catalog;
    catalog.pipelines = {
        {.id = 2116,
         .name = "Основная",
         .is_main = true,
         .statuses = {{10216990, "Неразобранное", 5, 1},
                      {10216995, "Первичный контакт", 10, 0},
                      {10216994, "Переговоры", 20, 0},
                      {142, "Успешно реализовано", 10000, 0},
                      {143, "", 11000, 0}}},  // a nameless status: its id is the stage
        {.id = 9217056,
         .name = "Семинары",
         .statuses = {{20067736, "Ожидает оплаты", 10, 0},
                      {142, "Оплачено — участник", 10000, 0},
                      {143, "Отказ", 11000, 0}}},
        {.id = 4740529,
         .name = "Записи",
         .statuses = {{43315795, "Новая запись", 10, 0},
                      {43315792, "Запись подтверждена", 20, 0},
                      {142, "Визит состоялся", 10000, 0},
                      {143, "Не пришёл", 11000, 0}}},
        {.id = 8572511,
         .name = "Kommo",
         .statuses = {{67548607, "Первичный контакт", 10, 0},
                      {67548619, "Квалификация", 20, 0},
                      {142, "Успешно", 10000, 0},
                      {143, "Провал", 11000, 0}}},
    };
    catalog.lead_fields = {{1119321, "Some text field", "text"},
                           {72333, "Дата проведения", "date"},
                           {500001, "Бюджет проекта", "numeric"}};
    catalog.users = {{938348, "Анна"}};
    return catalog;
}

Catalog OnePipeline() {
    Catalog catalog = SampleCatalog();
    catalog.pipelines.resize(1);
    return catalog;
}

struct Calls {
    int catalog = 0;
    int zone = 0;
};

AmoDecoder MakeDecoder(std::shared_ptr<const Catalog> catalog, Calls& calls) {
    return AmoDecoder(
        [catalog, &calls](const std::string& tenant) {
            FG_FUZZ_CHECK(tenant == kTenant, "catalog asked for tenant " + tenant);
            ++calls.catalog;
            return catalog;
        },
        [&calls](const std::string& tenant) {
            FG_FUZZ_CHECK(tenant == kTenant, "zone asked for tenant " + tenant);
            ++calls.zone;
            return std::string("Europe/Moscow");
        });
}

struct Fixture {
    std::shared_ptr<const Catalog> sample = std::make_shared<const Catalog>(SampleCatalog());
    std::shared_ptr<const Catalog> single = std::make_shared<const Catalog>(OnePipeline());
    Calls calls{};
    AmoDecoder with_sample = MakeDecoder(sample, calls);
    AmoDecoder with_single = MakeDecoder(single, calls);
    AmoDecoder without = MakeDecoder(nullptr, calls);
};

// Counts the source calls of one decoder call.
template <typename Call>
auto Counted(Calls& calls, Call&& call) {
    calls = {};
    auto result = call();
    FG_FUZZ_CHECK(calls.catalog <= 1, "the catalog was fetched more than once");
    FG_FUZZ_CHECK(calls.zone <= 1, "the time zone was fetched more than once");
    return result;
}

bool IsContentId(std::string_view text) {
    if (text.size() != 17 || text[0] != 'x') {
        return false;
    }
    for (const char c : text.substr(1)) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool IsDecimal(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

void CheckEvents(const std::vector<fg::domain::Event>& events, const Catalog& catalog) {
    for (const fg::domain::Event& event : events) {
        const std::string rendered = fg::fuzz::Render(event);
        FG_FUZZ_CHECK(!event.id.empty(), "an event without an id: " + rendered);
        const std::string_view entity = fg::fuzz::EntityId(event);
        FG_FUZZ_CHECK(IsDecimal(entity) || IsContentId(entity), "a malformed id: " + rendered);
        for (const std::string_view text : fg::fuzz::Texts(event)) {
            FG_FUZZ_CHECK(fg::fuzz::IsUtf8(text), "a text that is not UTF-8: " + rendered);
        }
        if (const auto* upsert = std::get_if<fg::domain::DealUpserted>(&event.body)) {
            const fg::domain::Deal& deal = upsert->deal;
            FG_FUZZ_CHECK(deal.tenant == kTenant, "a deal of another tenant: " + rendered);
            FG_FUZZ_CHECK(IsDecimal(deal.pipeline), "a non-decimal pipeline: " + rendered);
            const auto* pipeline = catalog.FindPipeline(std::stoll(deal.pipeline));
            FG_FUZZ_CHECK(pipeline != nullptr, "a pipeline not in the catalog: " + rendered);
            bool known_stage = false;
            for (const auto& status : pipeline->statuses) {
                known_stage = known_stage || deal.stage == status.name ||
                              (status.name.empty() && deal.stage == std::to_string(status.id));
            }
            FG_FUZZ_CHECK(known_stage, "a stage not in the pipeline: " + rendered);
            FG_FUZZ_CHECK(deal.responsible.empty() || IsDecimal(deal.responsible),
                          "a non-decimal responsible: " + rendered);
        }
        if (const auto* seen = std::get_if<fg::domain::StageObserved>(&event.body)) {
            FG_FUZZ_CHECK(IsDecimal(seen->deal_id) && IsDecimal(seen->pipeline),
                          "a malformed stage observation: " + rendered);
            FG_FUZZ_CHECK(catalog.FindPipeline(std::stoll(seen->pipeline)) != nullptr,
                          "a pipeline not in the catalog: " + rendered);
        }
        if (const auto* upsert = std::get_if<fg::domain::TaskUpserted>(&event.body)) {
            FG_FUZZ_CHECK(IsDecimal(upsert->task.deal_id), "a task of no lead: " + rendered);
        }
        if (const auto* note = std::get_if<fg::domain::NoteAdded>(&event.body)) {
            FG_FUZZ_CHECK(IsDecimal(note->note.deal_id), "a note of no lead: " + rendered);
        }
    }
}

bool SameError(const fg::Error& a, const fg::Error& b) {
    return a.code == b.code && a.message == b.message;
}

void CheckFailures(const fg::crm::Decoded& decoded) {
    for (const std::string& failure : decoded.failed) {
        FG_FUZZ_CHECK(!failure.empty() && fg::fuzz::IsUtf8(failure), "a failure not in UTF-8");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture fixture;
    const fg::crm::WebhookRequest request{
        .tenant = std::string(kTenant),
        .content_type = "application/x-www-form-urlencoded",
        .body = std::string(reinterpret_cast<const char*>(data), size),
        .received_at = fg::FromEpoch(1'800'000'000)};
    Calls& calls = fixture.calls;

    const auto valid = Counted(calls, [&] { return fixture.with_sample.Validate(request.body); });
    FG_FUZZ_CHECK(calls.catalog == 0 && calls.zone == 0, "Validate used a source");
    const auto elements =
        Counted(calls, [&] { return fixture.with_sample.DecodeElements(request); });
    const auto decoded = Counted(calls, [&] { return fixture.with_sample.Decode(request); });
    const auto both =
        Counted(calls, [&] { return fixture.with_sample.ValidateAndDecode(request); });

    FG_FUZZ_CHECK(valid || valid.error().code != ErrorCode::kInternal, Describe(valid.error()));
    FG_FUZZ_CHECK(elements || elements.error().code != ErrorCode::kInternal,
                  Describe(elements.error()));
    FG_FUZZ_CHECK(decoded || decoded.error().code != ErrorCode::kInternal,
                  Describe(decoded.error()));
    FG_FUZZ_CHECK(both || both.error().code != ErrorCode::kInternal, Describe(both.error()));

    if (!valid) {
        FG_FUZZ_CHECK(valid.error().code == ErrorCode::kInvalidInput, Describe(valid.error()));
        FG_FUZZ_CHECK(!elements && SameError(elements.error(), valid.error()),
                      "Validate refused (" + Describe(valid.error()) + ") but DecodeElements " +
                          (elements ? "accepted" : "said " + Describe(elements.error())));
        FG_FUZZ_CHECK(!decoded && SameError(decoded.error(), valid.error()),
                      "Validate refused (" + Describe(valid.error()) + ") but Decode " +
                          (decoded ? "accepted" : "said " + Describe(decoded.error())));
        FG_FUZZ_CHECK(!both && SameError(both.error(), valid.error()),
                      "Validate refused (" + Describe(valid.error()) + ") but ValidateAndDecode " +
                          (both ? "accepted" : "said " + Describe(both.error())));
        return 0;
    }

    FG_FUZZ_CHECK(both.has_value(),
                  "Validate accepted but ValidateAndDecode refused: " + Describe(both.error()));
    if (!elements) {
        FG_FUZZ_CHECK(elements.error().code == ErrorCode::kUnavailable,
                      "Validate accepted but DecodeElements said " + Describe(elements.error()));
        FG_FUZZ_CHECK(!both->has_value(), "the body waits but ValidateAndDecode gave a result");
        FG_FUZZ_CHECK(!decoded && decoded.error().code == ErrorCode::kUnavailable,
                      "the body waits but Decode did not say so");
    } else {
        CheckEvents(elements->events, *fixture.sample);
        CheckFailures(*elements);
        FG_FUZZ_CHECK(both->has_value(),
                      "DecodeElements decoded but ValidateAndDecode gave nullopt");
        FG_FUZZ_CHECK(fg::fuzz::Render((*both)->events) == fg::fuzz::Render(elements->events) &&
                          (*both)->failed == elements->failed &&
                          (*both)->ignored == elements->ignored,
                      "ValidateAndDecode's result differs from DecodeElements'");
        if (elements->failed.empty()) {
            FG_FUZZ_CHECK(
                decoded && fg::fuzz::Render(*decoded) == fg::fuzz::Render(elements->events),
                "no element failed but Decode differs");
        } else {
            FG_FUZZ_CHECK(!decoded && decoded.error().code == ErrorCode::kInvalidInput &&
                              decoded.error().message == elements->failed.front(),
                          "an element failed but Decode did not refuse with it");
        }
    }

    const auto single = Counted(calls, [&] { return fixture.with_single.DecodeElements(request); });
    FG_FUZZ_CHECK(
        single || single.error().code == ErrorCode::kUnavailable,
        "Validate accepted but DecodeElements (one pipeline) said " + Describe(single.error()));
    if (single) {
        CheckEvents(single->events, *fixture.single);
        CheckFailures(*single);
        for (const std::string& failure : single->failed) {
            FG_FUZZ_CHECK(failure.find("[pipeline_id]: required") == std::string::npos,
                          "one pipeline cannot leave a status ambiguous: " + failure);
        }
    }

    const auto without = Counted(calls, [&] { return fixture.without.DecodeElements(request); });
    if (without) {
        FG_FUZZ_CHECK(elements &&
                          fg::fuzz::Render(without->events) == fg::fuzz::Render(elements->events) &&
                          without->failed == elements->failed,
                      "decoded without a catalog, but differently with one");
    } else {
        FG_FUZZ_CHECK(
            without.error().code == ErrorCode::kUnavailable && calls.catalog == 1,
            "Validate accepted but DecodeElements (no catalog) said " + Describe(without.error()));
    }
    return 0;
}
