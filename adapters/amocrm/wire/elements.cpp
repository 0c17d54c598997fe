#include "adapters/amocrm/wire/elements.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <functional>
#include <utility>

#include <date/date.h>
#include <fmt/format.h>
#include <openssl/evp.h>

namespace fg::adapters::amocrm::elements {
namespace {

using form::Node;

constexpr std::int64_t kLeadElementType = 2;  // element_type of a task or note on a lead
constexpr std::int64_t kTextNoteType = 4;     // note_type of a common text note

// Top-level keys of amoCRM webhooks the rules do not judge (reference §1.2): acknowledged and
// counted. `companies` and `customers` arrive under `contacts` in today's payloads; older ones
// used their own keys.
constexpr std::array<std::string_view, 7> kIgnoredEntities = {
    "contacts", "companies", "customers", "unsorted", "catalogs", "message", "talk",
};

// Lead actions that carry the whole card, in the order their events are emitted.
constexpr std::array<std::string_view, 5> kLeadCardActions = {"add", "restore", "update",
                                                              "responsible", "status"};
constexpr std::array<std::string_view, 2> kTaskCardActions = {"add", "update"};

// Some senders (Digital Pipeline templates, hand-made integrations) put numbers in literal
// double quotes: `status_id="142"`. The quotes carry nothing, so numbers and times drop them.
std::string_view Unquoted(std::string_view text) {
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
        return text.substr(1, text.size() - 2);
    }
    return text;
}

std::optional<std::int64_t> ParseNumber(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
    }
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

bool TwoDigits(std::string_view text, std::size_t at, unsigned& out) {
    if (text[at] < '0' || text[at] > '9' || text[at + 1] < '0' || text[at + 1] > '9') {
        return false;
    }
    out = static_cast<unsigned>((text[at] - '0') * 10 + (text[at + 1] - '0'));
    return true;
}

// "YYYY-MM-DD HH:MM:SS" (also with 'T'), a wall-clock time without a zone.
std::optional<Timestamp> ParseLocalTime(std::string_view text) {
    if (text.size() != 19 || text[4] != '-' || text[7] != '-' ||
        (text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    unsigned century = 0, year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!TwoDigits(text, 0, century) || !TwoDigits(text, 2, year) || !TwoDigits(text, 5, month) ||
        !TwoDigits(text, 8, day) || !TwoDigits(text, 11, hour) || !TwoDigits(text, 14, minute) ||
        !TwoDigits(text, 17, second)) {
        return std::nullopt;
    }
    const date::year_month_day ymd{date::year{static_cast<int>(century * 100 + year)},
                                   date::month{month}, date::day{day}};
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) {
        return std::nullopt;
    }
    return Timestamp{date::sys_days{ymd}.time_since_epoch()} + std::chrono::hours{hour} +
           std::chrono::minutes{minute} + Duration{second};
}

// A stable id for an element that came without one: "x" and 16 hex digits of the SHA-256 of
// what identifies it. "x" keeps it apart from amoCRM's decimal ids.
std::string ContentId(std::initializer_list<std::string_view> parts) {
    std::string content;
    for (const std::string_view part : parts) {
        content += part;
        content += '\x1f';  // unit separator: ("ab", "c") and ("a", "bc") differ
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(content.data(), content.size(), digest.data(), &length, EVP_sha256(), nullptr);
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string id = "x";
    for (unsigned int i = 0; i < 8 && i < length; ++i) {
        id += kHex[digest[i] >> 4];
        id += kHex[digest[i] & 0x0F];
    }
    return id;
}

// Reads the fields of one element on behalf of its path ("leads[status][0]"). The first problem
// is kept and later reads become no-ops, so the readers below read straight through and check
// once per element.
class Reader {
public:
    Reader(const Node& node, std::string path, std::optional<Error>& error)
        : node_(node), path_(std::move(path)), error_(error) {}

    std::string KeyPath(std::string_view key) const {
        return fmt::format("{}[{}]", path_, form::Printable(key));
    }
    const Node* Find(std::string_view key) const { return node_.Find(key); }
    bool Has(std::string_view key) const { return node_.Find(key) != nullptr; }

    /// The value of `key`, or nullptr when there is none.
    const std::string* Value(std::string_view key) const {
        const Node* child = node_.Find(key);
        return child != nullptr && child->has_value() ? &child->value() : nullptr;
    }

    std::int64_t Id(std::string_view key) {
        const std::string* text = Value(key);
        if (text == nullptr || Unquoted(*text).empty()) {
            Fail(key, "required");
            return 0;
        }
        return Number(key, *text).value_or(0);
    }

    /// Absent or empty: nullopt.
    std::optional<std::int64_t> OptionalId(std::string_view key) {
        const std::string* text = Value(key);
        if (text == nullptr || Unquoted(*text).empty()) {
            return std::nullopt;
        }
        return Number(key, *text);
    }

    /// Absent: empty. The text must be UTF-8: it travels on into JSON and the database.
    std::string Text(std::string_view key) {
        const std::string* text = Value(key);
        if (text == nullptr) {
            return {};
        }
        return CheckedText(key, *text);
    }

    std::string CheckedText(std::string_view key, const std::string& text) {
        if (!form::IsValidUtf8(text)) {
            Fail(key, fmt::format("not valid UTF-8 (\"{}\")", form::Printable(text)));
            return {};
        }
        return text;
    }

    /// Unix seconds or "YYYY-MM-DD HH:MM:SS"; absent, empty or "0": nullopt.
    std::optional<CrmTime> Time(std::string_view key) {
        const std::string* value = Value(key);
        if (value == nullptr) {
            return std::nullopt;
        }
        const std::string_view text = Unquoted(*value);
        if (text.empty() || text == "0") {
            return std::nullopt;
        }
        if (const auto unix = ParseNumber(text)) {
            return CrmTime{.value = FromEpoch(*unix), .local = false};
        }
        if (const auto local = ParseLocalTime(text)) {
            return CrmTime{.value = *local, .local = true};
        }
        Fail(key, fmt::format("not a unix time or \"YYYY-MM-DD HH:MM:SS\" (\"{}\")",
                              form::Printable(*value)));
        return std::nullopt;
    }

    /// "1" or "true", quoted or not.
    bool Flag(std::string_view key) const {
        const std::string* value = Value(key);
        if (value == nullptr) {
            return false;
        }
        const std::string_view text = Unquoted(*value);
        return text == "1" || text == "true";
    }

    void Fail(std::string_view key, std::string_view reason) {
        if (!error_) {
            error_ = MakeError(ErrorCode::kInvalidInput, "{}: {}", KeyPath(key), reason);
        }
    }

private:
    std::optional<std::int64_t> Number(std::string_view key, const std::string& text) {
        const auto number = ParseNumber(Unquoted(text));
        if (!number) {
            Fail(key, fmt::format("not a number (\"{}\")", form::Printable(text)));
        }
        return number;
    }

    const Node& node_;
    std::string path_;
    std::optional<Error>& error_;
};

std::string ChildPath(const std::string& path, std::string_view key) {
    return fmt::format("{}[{}]", path, form::Printable(key));
}

std::string ShapeError(const std::string& path, std::string_view expected) {
    return fmt::format("{}: expected {}", path, expected);
}

// Calls `read(node, path, error)` for each element of `entity[action][<i>]`. An element that
// fails is recorded in `failed` with its reason and the others are read all the same. Elements
// given as a bare value (`leads[delete][0]=5`) go to `read_value` when there is one.
template <typename Read>
void ForEachElement(const Node& action, const std::string& path, std::vector<std::string>& failed,
                    Read&& read,
                    const std::function<void(const std::string& value, const std::string& path,
                                             std::optional<Error>& error)>& read_value = {}) {
    if (!action.has_children()) {
        if (action.has_value() && !action.value().empty()) {
            failed.push_back(ShapeError(path, path + "[<i>][<field>]"));
        }
        return;
    }
    for (const auto& [index, item] : action.children()) {
        const std::string item_path = ChildPath(path, index);
        std::optional<Error> error;
        if (item->has_children()) {
            read(*item, item_path, error);
        } else if (read_value && item->has_value()) {
            read_value(item->value(), item_path, error);
        } else if (item->has_value() && !item->value().empty()) {
            error = MakeError(ErrorCode::kInvalidInput, "{}",
                              ShapeError(item_path, item_path + "[<field>]"));
        }
        if (error) {
            failed.push_back(std::move(error->message));
        }
    }
}

// How many elements an action block holds (for counting ignored ones).
int CountElements(const Node& action) {
    return action.has_children() ? static_cast<int>(action.children().size()) : 1;
}

// custom_fields[j][id|name|code|values][k][value|enum]; a date field has values[k] without
// [value]; a field may come with a code and no values at all (an empty field).
std::vector<FieldValue> ReadCustomFields(Reader& lead, std::optional<Error>& error) {
    std::vector<FieldValue> fields;
    const Node* list = lead.Find("custom_fields");
    if (list == nullptr) {
        return fields;
    }
    const std::string list_path = lead.KeyPath("custom_fields");
    if (!list->has_children()) {
        if (list->has_value() && !list->value().empty() && !error) {
            error = MakeError(ErrorCode::kInvalidInput, "{}",
                              ShapeError(list_path, list_path + "[<i>][<field>]"));
        }
        return fields;
    }
    for (const auto& [index, item] : list->children()) {
        const std::string path = ChildPath(list_path, index);
        if (!item->has_children()) {
            if (item->has_value() && !item->value().empty() && !error) {
                error =
                    MakeError(ErrorCode::kInvalidInput, "{}", ShapeError(path, path + "[<field>]"));
            }
            continue;
        }
        Reader field(*item, path, error);
        FieldValue out{
            .id = field.OptionalId("id"), .name = field.Text("name"), .code = field.Text("code")};
        if (!out.id && out.name.empty() && out.code.empty()) {
            field.Fail("id", "required");
            return fields;
        }
        const Node* values = field.Find("values");
        if (values == nullptr) {
            fields.push_back(std::move(out));
            continue;
        }
        const std::string values_path = field.KeyPath("values");
        const auto add = [&out](std::string text) {
            if (text.empty()) {
                return;
            }
            if (!out.value.empty()) {
                out.value += ", ";
            }
            out.value += text;
        };
        if (values->has_value()) {
            add(field.CheckedText("values", values->value()));
        }
        Reader list_reader(*values, values_path, error);
        for (const auto& [value_index, value] : values->children()) {
            if (!value->has_children()) {
                add(list_reader.CheckedText(value_index,
                                            value->value()));  // a date: values[k]=unix
                continue;
            }
            Reader entry(*value, ChildPath(values_path, value_index), error);
            add(entry.Text(entry.Value("value") != nullptr ? "value" : "enum"));
        }
        fields.push_back(std::move(out));
    }
    return fields;
}

void ReadLeadCard(const Node& node, const std::string& path, bool status_change,
                  std::vector<Item>& out, std::optional<Error>& error) {
    Reader lead(node, path, error);
    LeadCard card{.path = path, .status_change = status_change};
    card.id = lead.Id("id");
    // A full card always has its name (empty or not) and creation date; the compact Digital
    // Pipeline element has neither, nor any other field of the card.
    card.has_card = lead.Has("name") || lead.Has("responsible_user_id") ||
                    lead.Has("custom_fields") || lead.Has("price") || lead.Has("date_create") ||
                    lead.Has("created_at");
    card.name = lead.Text("name");
    card.status_id = lead.Id("status_id");
    card.pipeline_id = lead.OptionalId("pipeline_id");
    card.old_status_id = lead.OptionalId("old_status_id");
    card.old_pipeline_id = lead.OptionalId("old_pipeline_id");
    card.responsible = lead.OptionalId("responsible_user_id");
    const std::optional<CrmTime> updated_at = lead.Time("updated_at");
    const std::optional<CrmTime> last_modified = lead.Time("last_modified");
    const std::optional<CrmTime> created_at = lead.Time("created_at");
    const std::optional<CrmTime> date_create = lead.Time("date_create");
    card.fields = ReadCustomFields(lead, error);
    if (error) {
        return;
    }
    card.updated = updated_at ? updated_at : last_modified;
    card.created = created_at ? created_at : date_create;
    // pipeline_id 0 is "not said" (compact payloads); the status then finds it.
    if (card.pipeline_id == 0) {
        card.pipeline_id.reset();
    }
    if (card.old_pipeline_id == 0) {
        card.old_pipeline_id.reset();
    }
    out.emplace_back(std::move(card));
}

void ReadLeadDeletion(const Node& node, const std::string& path, std::vector<Item>& out,
                      std::optional<Error>& error) {
    Reader lead(node, path, error);
    const std::int64_t id = lead.Id("id");
    if (!error) {
        out.emplace_back(LeadDeletion{.id = id});
    }
}

// `leads[delete][0]=5`, `task[delete][0]=5`: a deletion that carries only the id, as a value.
std::optional<std::int64_t> BareId(const std::string& value, const std::string& path,
                                   std::optional<Error>& error) {
    const auto id = ParseNumber(Unquoted(value));
    if (!id) {
        error = MakeError(ErrorCode::kInvalidInput, "{}: not a number (\"{}\")", path,
                          form::Printable(value));
    }
    return id;
}

// leads[note][i][note][...]: the fields sit one level down (reference §1.4); a body that puts
// them directly under [i] is read the same way. Returns false for a note the rules do not use.
bool ReadNote(const Node& item, const std::string& item_path, std::vector<Item>& out,
              std::optional<Error>& error) {
    const Node* inner = item.Find("note");
    const bool nested = inner != nullptr && inner->has_children();
    Reader note(nested ? *inner : item, nested ? ChildPath(item_path, "note") : item_path, error);
    const std::optional<std::int64_t> id = note.OptionalId("id");
    const std::optional<std::int64_t> element_type = note.OptionalId("element_type");
    const std::optional<std::int64_t> note_type = note.OptionalId("note_type");
    const std::optional<std::int64_t> element_id = note.OptionalId("element_id");
    std::string text = note.Text("text");
    const std::optional<CrmTime> created_at = note.Time("created_at");
    const std::optional<CrmTime> date_create = note.Time("date_create");
    if (error) {
        return true;
    }
    if (element_type.value_or(kLeadElementType) != kLeadElementType ||
        note_type.value_or(kTextNoteType) != kTextNoteType) {
        return false;
    }
    if (!element_id || *element_id == 0) {
        note.Fail("element_id", "required");
        return true;
    }
    const std::optional<CrmTime> created = created_at ? created_at : date_create;
    std::string note_id =
        id ? Decimal(*id)
           : ContentId({"note", Decimal(*element_id), text,
                        created ? std::to_string(ToEpoch(created->value)) : std::string{}});
    out.emplace_back(NoteCard{.id = std::move(note_id),
                              .lead_id = *element_id,
                              .text = std::move(text),
                              .created = created});
    return true;
}

// Returns false for a task the rules do not judge (of a contact, company or customer).
bool ReadTaskCard(const Node& node, const std::string& path, std::vector<Item>& out,
                  std::optional<Error>& error) {
    Reader task(node, path, error);
    TaskCard card;
    const std::optional<std::int64_t> id = task.OptionalId("id");
    const std::optional<std::int64_t> element_type = task.OptionalId("element_type");
    const std::optional<std::int64_t> element_id = task.OptionalId("element_id");
    card.text = task.Text("text");
    card.responsible = task.OptionalId("responsible_user_id");
    card.done = task.Flag("status") || task.Flag("is_completed");
    const std::optional<CrmTime> updated_at = task.Time("updated_at");
    const std::optional<CrmTime> last_modified = task.Time("last_modified");
    const std::optional<CrmTime> created_at = task.Time("created_at");
    const std::optional<CrmTime> date_create = task.Time("date_create");
    const std::optional<CrmTime> complete_before = task.Time("complete_before");
    const std::optional<CrmTime> complete_till = task.Time("complete_till");
    if (error) {
        return true;
    }
    if (element_type != kLeadElementType) {
        return false;
    }
    if (!element_id || *element_id == 0) {
        task.Fail("element_id", "required");
        return true;
    }
    card.lead_id = *element_id;
    card.updated = updated_at ? updated_at : last_modified;
    card.created = created_at ? created_at : date_create;
    card.due = complete_before ? complete_before : complete_till;
    // Without an id, what stays the same across the task's updates: its deal, its creation and
    // its text (the due time and the status change).
    card.id =
        id ? Decimal(*id)
           : ContentId({"task", Decimal(card.lead_id),
                        card.created ? std::to_string(ToEpoch(card.created->value)) : std::string{},
                        card.text});
    out.emplace_back(std::move(card));
    return true;
}

void ReadTaskDeletion(const Node& node, const std::string& path, std::vector<Item>& out,
                      std::optional<Error>& error) {
    Reader task(node, path, error);
    const std::int64_t id = task.Id("id");
    if (!error) {
        out.emplace_back(TaskDeletion{.id = id});
    }
}

// `entity` itself must be `entity[<action>]...`; false (with the failure recorded) otherwise.
bool CheckEntity(const Node& entity, std::string_view name, std::vector<std::string>& failed) {
    if (!entity.has_children()) {
        if (entity.has_value() && !entity.value().empty()) {
            failed.push_back(
                ShapeError(std::string(name), fmt::format("{}[<action>][<i>][<field>]", name)));
        }
        return false;
    }
    return true;
}

void ReadLeads(const Node& leads, Extracted& out) {
    if (!CheckEntity(leads, "leads", out.failed)) {
        return;
    }
    for (const std::string_view action : kLeadCardActions) {
        if (const Node* node = leads.Find(action)) {
            const bool status_change = action == "status";
            ForEachElement(
                *node, ChildPath("leads", action), out.failed,
                [&](const Node& item, const std::string& path, std::optional<Error>& error) {
                    ReadLeadCard(item, path, status_change, out.items, error);
                });
        }
    }
    if (const Node* node = leads.Find("note")) {
        ForEachElement(*node, "leads[note]", out.failed,
                       [&](const Node& item, const std::string& path, std::optional<Error>& error) {
                           if (!ReadNote(item, path, out.items, error)) {
                               ++out.ignored["note"];
                           }
                       });
    }
    if (const Node* node = leads.Find("delete")) {
        ForEachElement(
            *node, "leads[delete]", out.failed,
            [&](const Node& item, const std::string& path, std::optional<Error>& error) {
                ReadLeadDeletion(item, path, out.items, error);
            },
            [&](const std::string& value, const std::string& path, std::optional<Error>& error) {
                if (const auto id = BareId(value, path, error)) {
                    out.items.emplace_back(LeadDeletion{.id = *id});
                }
            });
    }
    for (const auto& [action, node] : leads.children()) {
        const bool known = action == "note" || action == "delete" ||
                           std::find(kLeadCardActions.begin(), kLeadCardActions.end(), action) !=
                               kLeadCardActions.end();
        if (!known) {
            out.ignored["leads"] += CountElements(*node);
        }
    }
}

void ReadTasks(const Node& tasks, std::string_view name, Extracted& out) {
    if (!CheckEntity(tasks, name, out.failed)) {
        return;
    }
    const std::string entity(name);
    for (const std::string_view action : kTaskCardActions) {
        if (const Node* node = tasks.Find(action)) {
            ForEachElement(
                *node, ChildPath(entity, action), out.failed,
                [&](const Node& item, const std::string& path, std::optional<Error>& error) {
                    if (!ReadTaskCard(item, path, out.items, error)) {
                        ++out.ignored["task"];
                    }
                });
        }
    }
    if (const Node* node = tasks.Find("delete")) {
        ForEachElement(
            *node, ChildPath(entity, "delete"), out.failed,
            [&](const Node& item, const std::string& path, std::optional<Error>& error) {
                ReadTaskDeletion(item, path, out.items, error);
            },
            [&](const std::string& value, const std::string& path, std::optional<Error>& error) {
                if (const auto id = BareId(value, path, error)) {
                    out.items.emplace_back(TaskDeletion{.id = *id});
                }
            });
    }
    for (const auto& [action, node] : tasks.children()) {
        if (action != "add" && action != "update" && action != "delete") {
            out.ignored["task"] += CountElements(*node);
        }
    }
}

}  // namespace

Result<Node> ParseForm(std::string_view body) {
    auto parsed = form::Parse(body);
    if (!parsed) {
        return parsed.error();
    }
    if (!parsed->has_children()) {
        return MakeError(ErrorCode::kInvalidInput,
                         "body: empty; expected an amoCRM webhook form (leads[...], task[...])");
    }
    return parsed;
}

Extracted Extract(const Node& root) {
    Extracted out;
    bool known = false;
    if (const Node* leads = root.Find("leads")) {
        known = true;
        ReadLeads(*leads, out);
    }
    for (const std::string_view name : {std::string_view("task"), std::string_view("tasks")}) {
        if (const Node* tasks = root.Find(name)) {
            known = true;
            ReadTasks(*tasks, name, out);
        }
    }
    for (const std::string_view entity : kIgnoredEntities) {
        if (const Node* node = root.Find(entity)) {
            known = true;
            int count = 0;
            for (const auto& [action, block] : node->children()) {
                count += CountElements(*block);
            }
            out.ignored[std::string(entity)] += std::max(count, 1);
        }
    }
    if (!known) {
        std::string keys;
        for (const auto& [key, child] : root.children()) {
            keys += (keys.empty() ? "" : ", ") + form::Printable(key, 40);
            if (keys.size() > 200) {
                keys += ", ...";
                break;
            }
        }
        out.failed.push_back(fmt::format(
            "body: no amoCRM entity (leads, task, contacts, companies, customers, unsorted, "
            "catalogs, message, talk); keys: {}",
            keys));
    }
    return out;
}

}  // namespace fg::adapters::amocrm::elements
