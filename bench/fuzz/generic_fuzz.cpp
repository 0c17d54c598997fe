// libFuzzer target: the generic event parser (adapters/generic/decoder.cpp).
//
// Input: a webhook body. Checks what decoder.hpp promises: Validate, Decode and ValidateAndDecode
// agree (same error, or the same events, never nullopt); errors are kInvalidInput with a message
// that is UTF-8; events carry non-empty ids, UTF-8 texts and the request's tenant; at most
// kMaxEvents of them; DedupeKey is 64 lower-case hex digits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/generic/decoder.hpp"
#include "bench/fuzz/support.hpp"

namespace {

using fg::ErrorCode;
using fg::adapters::generic::GenericDecoder;
using fg::fuzz::Describe;

bool IsLowerHex(std::string_view text) {
    for (const char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const GenericDecoder decoder;
    const fg::crm::WebhookRequest request{
        .tenant = "acme",
        .content_type = "application/json",
        .body = std::string(reinterpret_cast<const char*>(data), size)};

    const auto valid = decoder.Validate(request.body);
    const auto decoded = decoder.Decode(request);
    const auto both = decoder.ValidateAndDecode(request);

    if (!valid) {
        FG_FUZZ_CHECK(valid.error().code == ErrorCode::kInvalidInput, Describe(valid.error()));
        FG_FUZZ_CHECK(fg::fuzz::IsUtf8(valid.error().message),
                      "an error message that is not UTF-8: " + valid.error().message);
        FG_FUZZ_CHECK(!decoded && decoded.error().code == valid.error().code &&
                          decoded.error().message == valid.error().message,
                      "Validate refused (" + Describe(valid.error()) + ") but Decode " +
                          (decoded ? "accepted" : "said " + Describe(decoded.error())));
        FG_FUZZ_CHECK(!both && both.error().code == valid.error().code &&
                          both.error().message == valid.error().message,
                      "Validate refused (" + Describe(valid.error()) + ") but ValidateAndDecode " +
                          (both ? "accepted" : "said " + Describe(both.error())));
    } else {
        FG_FUZZ_CHECK(decoded.has_value(),
                      "Validate accepted but Decode said " + Describe(decoded.error()));
        FG_FUZZ_CHECK(both.has_value() && both->has_value(),
                      "Validate accepted but ValidateAndDecode did not decode");
        const std::string rendered = fg::fuzz::Render(*decoded);
        FG_FUZZ_CHECK(fg::fuzz::Render((*both)->events) == rendered && (*both)->failed.empty(),
                      "ValidateAndDecode's events differ from Decode's");
        FG_FUZZ_CHECK(decoded->size() <= GenericDecoder::kMaxEvents, "too many events");
        for (const fg::domain::Event& event : *decoded) {
            FG_FUZZ_CHECK(!event.id.empty(), "an event without an id: " + rendered);
            FG_FUZZ_CHECK(!fg::fuzz::EntityId(event).empty(),
                          "an entity without an id: " + rendered);
            for (const std::string_view text : fg::fuzz::Texts(event)) {
                FG_FUZZ_CHECK(fg::fuzz::IsUtf8(text), "a text that is not UTF-8: " + rendered);
            }
            if (const auto* upsert = std::get_if<fg::domain::DealUpserted>(&event.body)) {
                FG_FUZZ_CHECK(upsert->deal.tenant == "acme", "a deal of another tenant");
                FG_FUZZ_CHECK(!upsert->deal.pipeline.empty() && !upsert->deal.stage.empty(),
                              "a deal without pipeline or stage: " + rendered);
            }
        }
    }

    const std::string key = decoder.DedupeKey(request.body);
    FG_FUZZ_CHECK(key.size() == 64 && IsLowerHex(key), "DedupeKey gave " + key);
    return 0;
}
