#include "adapters/bitrix24/wire/decoder.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/wire/form.hpp"
#include "adapters/bitrix24/wire/references.hpp"
#include "src/common/secret.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

std::string Upper(std::string_view text) {
    std::string upper(text);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return upper;
}

std::string Lower(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower;
}

// The string at `path` under `root`, or "" (a missing key, a nested map, "undefined").
std::string StringAt(const json& root, std::initializer_list<const char*> path) {
    const json* node = &root;
    for (const char* key : path) {
        if (!node->is_object()) {
            return {};
        }
        const auto found = node->find(key);
        if (found == node->end()) {
            return {};
        }
        node = &*found;
    }
    return node->is_string() ? node->get<std::string>() : std::string{};
}

// What an event is about, from its name.
struct Kind {
    enum class Entity { kDeal, kActivity, kTask, kComment, kIgnored };
    Entity entity = Entity::kIgnored;
    bool deleted = false;
    std::string ignored_as{};  // kIgnored: the entity's name in Decoded::ignored
};

Kind KindOf(const std::string& event) {
    const auto action = [&](std::string_view prefix) -> std::string_view {
        return std::string_view(event).substr(prefix.size());
    };
    const auto crud = [](std::string_view verb) {
        return verb == "ADD" || verb == "UPDATE" || verb == "DELETE";
    };
    if (event.starts_with("ONCRMDEAL")) {
        const std::string_view verb = action("ONCRMDEAL");
        if (crud(verb) || verb == "MOVETOCATEGORY") {
            return {.entity = Kind::Entity::kDeal, .deleted = verb == "DELETE", .ignored_as = {}};
        }
        return {.entity = Kind::Entity::kIgnored, .deleted = false, .ignored_as = "deal"};
    }
    if (event.starts_with("ONCRMACTIVITY") && crud(action("ONCRMACTIVITY"))) {
        return {.entity = Kind::Entity::kActivity,
                .deleted = action("ONCRMACTIVITY") == "DELETE",
                .ignored_as = {}};
    }
    if (event.starts_with("ONTASKCOMMENT")) {
        return {.entity = Kind::Entity::kIgnored, .deleted = false, .ignored_as = "task comment"};
    }
    if (event.starts_with("ONTASK") && crud(action("ONTASK"))) {
        return {.entity = Kind::Entity::kTask,
                .deleted = action("ONTASK") == "DELETE",
                .ignored_as = {}};
    }
    if (event == "ONCRMTIMELINECOMMENTADD" || event == "ONCRMTIMELINECOMMENTUPDATE") {
        return {.entity = Kind::Entity::kComment, .deleted = false, .ignored_as = {}};
    }
    static constexpr std::pair<std::string_view, std::string_view> kIgnored[] = {
        {"ONCRMTIMELINECOMMENT", "timeline comment"},
        {"ONCRMLEAD", "lead"},
        {"ONCRMCONTACT", "contact"},
        {"ONCRMCOMPANY", "company"},
        {"ONCRMDYNAMICITEM", "smart process"},
        {"ONCRMQUOTE", "quote"},
        {"ONCRMINVOICE", "invoice"},
        {"ONCRMSMARTINVOICE", "invoice"},
    };
    for (const auto& [prefix, name] : kIgnored) {
        if (event.starts_with(prefix)) {
            return {.entity = Kind::Entity::kIgnored,
                    .deleted = false,
                    .ignored_as = std::string(name)};
        }
    }
    return {.entity = Kind::Entity::kIgnored, .deleted = false, .ignored_as = "other"};
}

// The id the event names: data[FIELDS][ID] for CRM events (data[ID] too for comments, as the
// docs show it), data[FIELDS_AFTER][ID] for a task (FIELDS_BEFORE for its deletion).
std::string IdOf(const json& form, const Kind& kind) {
    if (kind.entity == Kind::Entity::kTask) {
        return StringAt(form, {"data", kind.deleted ? "FIELDS_BEFORE" : "FIELDS_AFTER", "ID"});
    }
    std::string id = StringAt(form, {"data", "FIELDS", "ID"});
    if (id.empty() && kind.entity == Kind::Entity::kComment) {
        id = StringAt(form, {"data", "ID"});
    }
    return id;
}

Timestamp TimeOf(const json& form, Timestamp received_at) {
    const std::string ts = StringAt(form, {"ts"});
    if (IsId(ts)) {
        return Timestamp{std::chrono::seconds{std::stoll(ts)}};
    }
    return received_at;
}

Result<json> ParseEventForm(std::string_view body) {
    auto form = form::Parse(body);
    if (!form) {
        return form.error();
    }
    if (StringAt(*form, {"event"}).empty()) {
        return MakeError(ErrorCode::kInvalidInput,
                         "event: missing (a Bitrix24 event names itself in `event`)");
    }
    return form;
}

crm::Decoded DecodeForm(const json& form, const crm::WebhookRequest& request) {
    crm::Decoded decoded;
    const std::string event = Upper(StringAt(form, {"event"}));
    const Kind kind = KindOf(event);
    if (kind.entity == Kind::Entity::kIgnored) {
        ++decoded.ignored[kind.ignored_as];
        return decoded;
    }
    const std::string id = IdOf(form, kind);
    if (!IsId(id)) {
        decoded.failed.push_back(fmt::format("{}: no entity id in its data", event));
        return decoded;
    }
    const Timestamp at = TimeOf(form, request.received_at);
    if (kind.deleted) {
        domain::Event deleted{
            .id = fmt::format("{}:{}:{}", Lower(event), id, at.time_since_epoch().count()),
            .at = at,
            .body = {}};
        switch (kind.entity) {
            case Kind::Entity::kDeal:
                deleted.body = domain::DealDeleted{.deal_id = id};
                break;
            case Kind::Entity::kActivity:
                deleted.body = domain::TaskDeleted{.task_id = TodoTaskId(id)};
                break;
            default:
                deleted.body = domain::TaskDeleted{.task_id = TaskTaskId(id)};
                break;
        }
        decoded.events.push_back(std::move(deleted));
        return decoded;
    }
    const Reference::Kind reference =
        kind.entity == Kind::Entity::kDeal       ? Reference::Kind::kDeal
        : kind.entity == Kind::Entity::kActivity ? Reference::Kind::kActivity
        : kind.entity == Kind::Entity::kTask     ? Reference::Kind::kTask
                                                 : Reference::Kind::kComment;
    decoded.fetch.push_back(Reference{.kind = reference, .id = id}.ToString());
    return decoded;
}

bool IsTokenKey(const std::vector<std::string>& path) {
    return path.size() == 2 && path[0] == "auth" &&
           Lower(path[1]).find("token") != std::string::npos;
}

}  // namespace

std::string ApplicationToken(std::string_view body) {
    auto form = form::Parse(body);
    return form ? StringAt(*form, {"auth", "application_token"}) : std::string{};
}

std::string ScrubTokens(std::string_view body) { return form::WithoutPairs(body, IsTokenKey); }

std::string ForeignPortal(std::string_view body, std::string_view domain,
                          std::string_view member_id) {
    auto form = form::Parse(body);
    if (!form) {
        return {};  // not a form: Validate refuses it with its own reason
    }
    const std::string named = Lower(StringAt(*form, {"auth", "domain"}));
    if (!domain.empty() && !named.empty() && named != Lower(domain)) {
        std::string shown;
        for (const char c : named.substr(0, 100)) {
            shown +=
                std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == ':'
                    ? c
                    : '?';
        }
        return fmt::format(
            "the event is from portal {} (auth[domain]), not this tenant's {} (set "
            "[tenant.bitrix24] domain if the portal is reached under another name)",
            shown, domain);
    }
    const std::string presented = StringAt(*form, {"auth", "member_id"});
    if (!member_id.empty() && !presented.empty() && !SecretEquals(presented, member_id)) {
        return "the event is from another portal: its auth[member_id] is not this tenant's "
               "[tenant.bitrix24] member_id";
    }
    return {};
}

Result<void> Bitrix24Decoder::Validate(std::string_view body) const {
    auto form = ParseEventForm(body);
    if (!form) {
        return form.error();
    }
    return Ok{};
}

Result<crm::Decoded> Bitrix24Decoder::DecodeElements(const crm::WebhookRequest& request) const {
    auto form = ParseEventForm(request.body);
    if (!form) {
        return form.error();
    }
    return DecodeForm(*form, request);
}

Result<std::optional<crm::Decoded>> Bitrix24Decoder::ValidateAndDecode(
    const crm::WebhookRequest& request) const {
    auto form = ParseEventForm(request.body);
    if (!form) {
        return form.error();
    }
    return std::optional<crm::Decoded>{DecodeForm(*form, request)};
}

Result<std::vector<domain::Event>> Bitrix24Decoder::Decode(
    const crm::WebhookRequest& request) const {
    auto decoded = DecodeElements(request);
    if (!decoded) {
        return decoded.error();
    }
    if (!decoded->failed.empty()) {
        return Error{ErrorCode::kInvalidInput, decoded->failed.front()};
    }
    if (!decoded->fetch.empty()) {
        return MakeError(ErrorCode::kUnavailable,
                         "{}: the event carries ids only; the fetch stage completes it",
                         decoded->fetch.front());
    }
    return std::move(decoded->events);
}

std::string Bitrix24Decoder::DedupeKey(std::string_view body) const {
    auto form = form::Parse(body);
    if (!form) {
        return fmt::format("unparsed:{}", std::hash<std::string_view>{}(body));
    }
    const std::string event = Upper(StringAt(*form, {"event"}));
    const json* data = form->contains("data") ? &(*form)["data"] : nullptr;
    return fmt::format("{}|{}|{}", event, data != nullptr ? data->dump() : "",
                       StringAt(*form, {"ts"}));
}

}  // namespace fg::adapters::bitrix24
