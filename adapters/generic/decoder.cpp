#include "adapters/generic/decoder.hpp"

#include <array>
#include <exception>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "adapters/generic/safe_text.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::generic {
namespace {

using Json = nlohmann::json;
using EventBody = decltype(domain::Event{}.body);

// nlohmann parses iteratively, but a body of a million '[' still costs a million allocations
// for nothing: our schema is 4 levels deep, so refuse absurd nesting before parsing at all.
bool NestsDeeperThan(std::string_view body, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : body) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) {
                return true;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

// Reads one JSON object on behalf of a path like "events[2].deal". The first schema violation
// is kept and later reads become no-ops, so decoding code reads straight through and checks
// once at the end, instead of an early return after every field.
class ObjectReader {
public:
    ObjectReader(const Json& object, std::string path, std::optional<Error>& error)
        : object_(object), path_(std::move(path)), error_(error) {}

    const std::string& path() const { return path_; }

    const Json* Find(std::string_view key) const {
        const auto found = object_.find(key);
        return found == object_.end() ? nullptr : &*found;
    }

    /// A string member that may be absent or null (then empty): a card without a title or a
    /// responsible user is still a card.
    std::string String(std::string_view key) {
        const Json* value = Find(key);
        if (value == nullptr || value->is_null()) {
            return {};
        }
        return ReadString(key, /*non_empty=*/false);
    }
    std::string Id(std::string_view key) { return ReadString(key, /*non_empty=*/true); }
    std::string RequiredString(std::string_view key) {
        return ReadString(key, /*non_empty=*/false);
    }

    bool Bool(std::string_view key) {
        const Json* value = Find(key);
        if (value == nullptr || !value->is_boolean()) {
            Fail(key, "required boolean");
            return false;
        }
        return value->get<bool>();
    }

    Timestamp Time(std::string_view key) {
        const Json* value = Find(key);
        if (value == nullptr || !value->is_string()) {
            Fail(key, "required ISO 8601 time with offset");
            return {};
        }
        return ParseTime(key, *value);
    }

    std::optional<Timestamp> OptionalTime(std::string_view key) {
        const Json* value = Find(key);
        if (value == nullptr || value->is_null()) {
            return std::nullopt;
        }
        if (!value->is_string()) {
            Fail(key, "required ISO 8601 time with offset, or null");
            return std::nullopt;
        }
        return ParseTime(key, *value);
    }

    /// The member `key`, which must be an object; nullptr (and an error) otherwise.
    const Json* Object(std::string_view key) {
        const Json* value = Find(key);
        if (value == nullptr || !value->is_object()) {
            Fail(key, "required object");
            return nullptr;
        }
        return value;
    }

    /// An optional object of string → string; numbers are accepted and kept as their JSON text.
    std::map<std::string, std::string> StringMap(std::string_view key) {
        std::map<std::string, std::string> out;
        if (const Json* present = Find(key); present == nullptr || present->is_null()) {
            return out;  // no custom fields
        }
        const Json* value = Object(key);
        if (value == nullptr) {
            return out;
        }
        for (const auto& [name, item] : value->items()) {
            if (item.is_string()) {
                out.emplace(name, item.get<std::string>());
            } else if (item.is_number()) {
                out.emplace(name, item.dump());
            } else {
                Fail(fmt::format("{}[\"{}\"]", key, SafeText(name, 64)),
                     "required string or number");
                return out;
            }
        }
        return out;
    }

    void Fail(std::string_view key, std::string_view reason) {
        if (!error_) {
            error_ = MakeError(ErrorCode::kInvalidInput, "{}.{}: {}", path_, key, reason);
        }
    }

private:
    std::string ReadString(std::string_view key, bool non_empty) {
        const Json* value = Find(key);
        if (value == nullptr || !value->is_string()) {
            Fail(key, "required string");
            return {};
        }
        if (non_empty && value->get_ref<const std::string&>().empty()) {
            Fail(key, "must not be empty");
            return {};
        }
        return value->get<std::string>();
    }

    Timestamp ParseTime(std::string_view key, const Json& value) {
        const auto& text = value.get_ref<const std::string&>();
        const auto parsed = ParseIso8601(text);
        if (!parsed) {
            Fail(key,
                 fmt::format("\"{}\" is not an ISO 8601 time with offset", SafeText(text, 64)));
            return {};
        }
        return *parsed;
    }

    const Json& object_;
    std::string path_;
    std::optional<Error>& error_;
};

EventBody DecodeDealUpserted(ObjectReader& deal, const std::string& tenant, Timestamp at) {
    return domain::DealUpserted{.deal = {
                                    .tenant = tenant,
                                    .id = deal.Id("id"),
                                    .title = deal.String("title"),
                                    .pipeline = deal.Id("pipeline"),
                                    .stage = deal.Id("stage"),
                                    .responsible = deal.String("responsible"),
                                    .fields = deal.StringMap("fields"),
                                    .created_at = at,
                                    .updated_at = at,
                                }};
}

EventBody DecodeTaskUpserted(ObjectReader& task, Timestamp at) {
    return domain::TaskUpserted{.task = {
                                    .id = task.Id("id"),
                                    .deal_id = task.Id("deal"),
                                    .due = task.OptionalTime("due"),
                                    .done = task.Bool("done"),
                                    .responsible = task.String("responsible"),
                                    .text = task.String("text"),
                                    .created_at = at,
                                    .updated_at = at,
                                }};
}

EventBody DecodeNoteAdded(ObjectReader& note, Timestamp at) {
    return domain::NoteAdded{.note = {
                                 .id = note.Id("id"),
                                 .deal_id = note.Id("deal"),
                                 .at = at,
                                 .text = note.RequiredString("text"),
                             }};
}

struct EventType {
    std::string_view name;
    std::string_view member;  // the key that holds the entity
    EventBody (*decode)(ObjectReader& entity, const std::string& tenant, Timestamp at);
};

constexpr std::array<EventType, 5> kEventTypes = {{
    {"deal.deleted", "deal",
     [](ObjectReader& deal, const std::string&, Timestamp) -> EventBody {
         return domain::DealDeleted{.deal_id = deal.Id("id")};
     }},
    {"deal.upserted", "deal", &DecodeDealUpserted},
    {"note.added", "note",
     [](ObjectReader& note, const std::string&, Timestamp at) {
         return DecodeNoteAdded(note, at);
     }},
    {"task.deleted", "task",
     [](ObjectReader& task, const std::string&, Timestamp) -> EventBody {
         return domain::TaskDeleted{.task_id = task.Id("id")};
     }},
    {"task.upserted", "task",
     [](ObjectReader& task, const std::string&, Timestamp at) {
         return DecodeTaskUpserted(task, at);
     }},
}};

Result<domain::Event> DecodeEvent(const Json& item, std::size_t index, const std::string& tenant) {
    const std::string path = fmt::format("events[{}]", index);
    if (!item.is_object()) {
        return MakeError(ErrorCode::kInvalidInput, "{}: required object", path);
    }
    std::optional<Error> error;
    ObjectReader event(item, path, error);
    domain::Event out{.id = event.Id("id")};
    const Json* type = event.Find("type");
    if (type == nullptr || !type->is_string()) {
        event.Fail("type", "required string");
        return *error;
    }
    const auto& type_name = type->get_ref<const std::string&>();
    const EventType* kind = nullptr;
    for (const EventType& candidate : kEventTypes) {
        if (candidate.name == type_name) {
            kind = &candidate;
        }
    }
    if (kind == nullptr) {
        event.Fail("type", fmt::format("unknown event type \"{}\"", SafeText(type_name, 64)));
        return *error;
    }
    out.at = event.Time("at");
    const Json* entity = event.Object(kind->member);
    if (error) {
        return *error;
    }
    ObjectReader reader(*entity, fmt::format("{}.{}", path, kind->member), error);
    out.body = kind->decode(reader, tenant, out.at);
    if (error) {
        return *error;
    }
    return out;
}

Result<std::vector<domain::Event>> DecodeBody(std::string_view body, const std::string& tenant) {
    if (NestsDeeperThan(body, GenericDecoder::kMaxDepth)) {
        return MakeError(ErrorCode::kInvalidInput, "body: nested deeper than {} levels",
                         GenericDecoder::kMaxDepth);
    }
    Json document;
    try {
        document = Json::parse(body);
    } catch (const Json::exception& error) {
        // The parser quotes the offending bytes, which may be invalid UTF-8: SafeText escapes them
        // so the reason can go into a JSON error response and a log line.
        return MakeError(ErrorCode::kInvalidInput, "body: not valid JSON: {}",
                         SafeText(error.what(), 200));
    }
    if (!document.is_object()) {
        return MakeError(ErrorCode::kInvalidInput, "body: required object with \"events\"");
    }
    const auto events = document.find("events");
    if (events == document.end() || !events->is_array()) {
        return MakeError(ErrorCode::kInvalidInput, "events: required array");
    }
    if (events->size() > GenericDecoder::kMaxEvents) {
        return MakeError(ErrorCode::kInvalidInput, "events: {} events, at most {} per body",
                         events->size(), GenericDecoder::kMaxEvents);
    }
    std::vector<domain::Event> out;
    out.reserve(events->size());
    for (std::size_t i = 0; i < events->size(); ++i) {
        auto event = DecodeEvent((*events)[i], i, tenant);
        if (!event) {
            return event.error();
        }
        out.push_back(std::move(*event));
    }
    return out;
}

Result<std::vector<domain::Event>> DecodeGuarded(std::string_view body, const std::string& tenant) {
    // Every nlohmann access above is type-checked first, so nothing should throw past the parse;
    // this is the adapter's boundary all the same (convention 3).
    try {
        return DecodeBody(body, tenant);
    } catch (const Json::exception& error) {
        return MakeError(ErrorCode::kInvalidInput, "body: {}", SafeText(error.what(), 200));
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kInternal, "generic events could not be decoded: {}",
                         SafeText(error.what(), 200));
    }
}

}  // namespace

Result<void> GenericDecoder::Validate(std::string_view body) const {
    auto events = DecodeGuarded(body, std::string{});
    if (!events) {
        return events.error();
    }
    return Ok{};
}

Result<std::vector<domain::Event>> GenericDecoder::Decode(
    const crm::WebhookRequest& request) const {
    return DecodeGuarded(request.body, request.tenant);
}

Result<std::optional<crm::Decoded>> GenericDecoder::ValidateAndDecode(
    const crm::WebhookRequest& request) const {
    auto events = DecodeGuarded(request.body, request.tenant);
    if (!events) {
        return events.error();
    }
    return std::optional<crm::Decoded>{crm::Decoded{
        .events = std::move(events).value(), .failed = {}, .ignored = {}, .fetch = {}}};
}

std::string GenericDecoder::DedupeKey(std::string_view body) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(body.data(), body.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
        // Only on allocation failure inside OpenSSL; an empty key makes the inbox treat the
        // delivery as new, which is the safe side (events dedupe by id anyway).
        return {};
    }
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        hex += fmt::format("{:02x}", digest[i]);
    }
    return hex;
}

}  // namespace fg::adapters::generic
