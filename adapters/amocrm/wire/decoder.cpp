#include "adapters/amocrm/wire/decoder.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>
#include <variant>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "adapters/amocrm/wire/event_ids.hpp"
#include "adapters/amocrm/wire/form.hpp"

namespace fg::adapters::amocrm {
namespace {

using form::Node;

constexpr std::int64_t kLeadElementType = 2;  // element_type of a task or note on a lead
constexpr std::int64_t kTextNoteType = 4;     // note_type of a common text note

// The top-level keys of amoCRM webhooks (reference §1.2): a body must hold one of them.
constexpr std::array<std::string_view, 10> kEntities = {
    "leads",     "task",     "tasks",    "contacts", "companies",
    "customers", "unsorted", "catalogs", "message",  "talk",
};

// Lead actions that carry the whole card, in the order their events are emitted.
constexpr std::array<std::string_view, 5> kLeadCardActions = {"add", "restore", "update",
                                                              "responsible", "status"};
constexpr std::array<std::string_view, 2> kTaskCardActions = {"add", "update"};

// A CRM time as read: unix seconds, or a wall-clock time still to be placed in the tenant's zone
// (kept in `value` as if it were UTC).
struct CrmTime {
    Timestamp value{};
    bool local = false;
};

struct FieldValue {
    std::optional<std::int64_t> id{};
    std::string name{};
    std::string value{};
};

struct LeadCard {
    std::string path{};  // "leads[status][0]", for errors that need the catalog
    bool status_change = false;
    std::int64_t id = 0;
    std::string name{};
    std::int64_t status_id = 0;
    std::optional<std::int64_t> pipeline_id{};
    std::optional<std::int64_t> old_status_id{};
    std::optional<std::int64_t> old_pipeline_id{};
    std::optional<std::int64_t> responsible{};
    CrmTime updated{};
    std::optional<CrmTime> created{};
    std::vector<FieldValue> fields{};
};

struct LeadDeletion {
    std::int64_t id = 0;
};

struct TaskCard {
    std::int64_t id = 0;
    std::int64_t lead_id = 0;
    bool done = false;
    std::string text{};
    std::optional<std::int64_t> responsible{};
    CrmTime updated{};
    std::optional<CrmTime> created{};
    std::optional<CrmTime> due{};
};

struct TaskDeletion {
    std::int64_t id = 0;
};

struct NoteCard {
    std::int64_t id = 0;
    std::int64_t lead_id = 0;
    std::string text{};
    CrmTime created{};
};

// What a body says, checked but not yet mapped through the catalog and the time zone.
using Item = std::variant<LeadCard, LeadDeletion, TaskCard, TaskDeletion, NoteCard>;

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

std::string Decimal(std::int64_t value) { return std::to_string(value); }

// Reads the fields of one entity on behalf of its path ("leads[status][0]"). The first problem
// is kept and later reads become no-ops, so the readers below read straight through and check
// once per entity.
class Reader {
public:
    Reader(const Node& node, std::string path, std::optional<Error>& error)
        : node_(node), path_(std::move(path)), error_(error) {}

    std::string KeyPath(std::string_view key) const {
        return fmt::format("{}[{}]", path_, form::Printable(key));
    }
    const Node* Find(std::string_view key) const { return node_.Find(key); }

    /// The value of `key`, or nullptr when there is none.
    const std::string* Value(std::string_view key) const {
        const Node* child = node_.Find(key);
        return child != nullptr && child->has_value() ? &child->value() : nullptr;
    }

    std::int64_t Id(std::string_view key) {
        const std::string* text = Value(key);
        if (text == nullptr || text->empty()) {
            Fail(key, "required");
            return 0;
        }
        return Number(key, *text).value_or(0);
    }

    /// Absent or empty: nullopt.
    std::optional<std::int64_t> OptionalId(std::string_view key) {
        const std::string* text = Value(key);
        if (text == nullptr || text->empty()) {
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
        const std::string* text = Value(key);
        if (text == nullptr || text->empty() || *text == "0") {
            return std::nullopt;
        }
        if (const auto unix = ParseNumber(*text)) {
            return CrmTime{.value = FromEpoch(*unix), .local = false};
        }
        if (const auto local = ParseLocalTime(*text)) {
            return CrmTime{.value = *local, .local = true};
        }
        Fail(key, fmt::format("not a unix time or \"YYYY-MM-DD HH:MM:SS\" (\"{}\")",
                              form::Printable(*text)));
        return std::nullopt;
    }

    void Fail(std::string_view key, std::string_view reason) {
        if (!error_) {
            error_ = MakeError(ErrorCode::kInvalidInput, "{}: {}", KeyPath(key), reason);
        }
    }

private:
    std::optional<std::int64_t> Number(std::string_view key, const std::string& text) {
        const auto number = ParseNumber(text);
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

void FailShape(std::optional<Error>& error, const std::string& path, std::string_view expected) {
    if (!error) {
        error = MakeError(ErrorCode::kInvalidInput, "{}: expected {}", path, expected);
    }
}

// Calls `read(node, path)` for each item of `entity[action][<i>]`, which must hold fields.
template <typename Read>
void ForEachItem(const Node& action, const std::string& path, std::optional<Error>& error,
                 Read&& read) {
    if (!action.has_children()) {
        if (action.has_value() && !action.value().empty()) {
            FailShape(error, path, path + "[<i>][<field>]");
        }
        return;
    }
    for (const auto& [index, item] : action.children()) {
        const std::string item_path = ChildPath(path, index);
        if (!item->has_children()) {
            FailShape(error, item_path, item_path + "[<field>]");
            return;
        }
        read(*item, item_path);
        if (error) {
            return;
        }
    }
}

// custom_fields[j][id|name|values][k][value|enum]; a date field has values[k] without [value].
std::vector<FieldValue> ReadCustomFields(Reader& lead, std::optional<Error>& error) {
    std::vector<FieldValue> fields;
    const Node* list = lead.Find("custom_fields");
    if (list == nullptr) {
        return fields;
    }
    const std::string list_path = lead.KeyPath("custom_fields");
    ForEachItem(*list, list_path, error, [&](const Node& item, const std::string& path) {
        Reader field(item, path, error);
        FieldValue out{.id = field.OptionalId("id"), .name = field.Text("name")};
        if (!out.id && out.name.empty()) {
            field.Fail("id", "required");
            return;
        }
        const Node* values = field.Find("values");
        if (values == nullptr) {
            fields.push_back(std::move(out));
            return;
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
        for (const auto& [index, value] : values->children()) {
            if (!value->has_children()) {
                add(list_reader.CheckedText(index, value->value()));  // a date: values[k]=unix
                continue;
            }
            Reader entry(*value, ChildPath(values_path, index), error);
            add(entry.Text(entry.Value("value") != nullptr ? "value" : "enum"));
        }
        fields.push_back(std::move(out));
    });
    return fields;
}

void ReadLeadCard(const Node& node, const std::string& path, bool status_change,
                  std::vector<Item>& out, std::optional<Error>& error) {
    Reader lead(node, path, error);
    LeadCard card{.path = path, .status_change = status_change};
    card.id = lead.Id("id");
    card.name = lead.Text("name");
    card.status_id = lead.Id("status_id");
    card.pipeline_id = lead.OptionalId("pipeline_id");
    card.old_status_id = lead.OptionalId("old_status_id");
    card.old_pipeline_id = lead.OptionalId("old_pipeline_id");
    card.responsible = lead.OptionalId("responsible_user_id");
    (void)lead.OptionalId("account_id");
    const std::optional<CrmTime> updated_at = lead.Time("updated_at");
    const std::optional<CrmTime> last_modified = lead.Time("last_modified");
    const std::optional<CrmTime> created_at = lead.Time("created_at");
    const std::optional<CrmTime> date_create = lead.Time("date_create");
    if (!updated_at && !last_modified) {
        lead.Fail("last_modified", "required");
    }
    card.fields = ReadCustomFields(lead, error);
    if (error) {
        return;
    }
    card.updated = updated_at ? *updated_at : *last_modified;
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
    (void)lead.OptionalId("status_id");
    (void)lead.OptionalId("pipeline_id");
    if (!error) {
        out.emplace_back(LeadDeletion{.id = id});
    }
}

// leads[note][i][note][...]: the fields sit one level down (reference §1.4); a body that puts
// them directly under [i] is read the same way.
void ReadNote(const Node& item, const std::string& item_path, std::vector<Item>& out,
              std::optional<Error>& error) {
    const Node* inner = item.Find("note");
    const bool nested = inner != nullptr && inner->has_children();
    Reader note(nested ? *inner : item, nested ? ChildPath(item_path, "note") : item_path, error);
    const std::int64_t id = note.Id("id");
    const std::optional<std::int64_t> element_type = note.OptionalId("element_type");
    const std::optional<std::int64_t> note_type = note.OptionalId("note_type");
    const std::optional<std::int64_t> element_id = note.OptionalId("element_id");
    std::string text = note.Text("text");
    const std::optional<CrmTime> created_at = note.Time("created_at");
    const std::optional<CrmTime> date_create = note.Time("date_create");
    if (error || element_type.value_or(kLeadElementType) != kLeadElementType ||
        note_type.value_or(kTextNoteType) != kTextNoteType) {
        return;
    }
    if (!element_id || *element_id == 0) {
        note.Fail("element_id", "required");
        return;
    }
    if (!created_at && !date_create) {
        note.Fail("created_at", "required");
        return;
    }
    out.emplace_back(NoteCard{.id = id,
                              .lead_id = *element_id,
                              .text = std::move(text),
                              .created = created_at ? *created_at : *date_create});
}

bool IsTrue(const std::string* text) {
    return text != nullptr && (*text == "1" || *text == "true");
}

void ReadTaskCard(const Node& node, const std::string& path, std::vector<Item>& out,
                  std::optional<Error>& error) {
    Reader task(node, path, error);
    TaskCard card;
    card.id = task.Id("id");
    const std::optional<std::int64_t> element_type = task.OptionalId("element_type");
    const std::optional<std::int64_t> element_id = task.OptionalId("element_id");
    card.text = task.Text("text");
    card.responsible = task.OptionalId("responsible_user_id");
    card.done = IsTrue(task.Value("status")) || IsTrue(task.Value("is_completed"));
    const std::optional<CrmTime> updated_at = task.Time("updated_at");
    const std::optional<CrmTime> last_modified = task.Time("last_modified");
    const std::optional<CrmTime> created_at = task.Time("created_at");
    const std::optional<CrmTime> date_create = task.Time("date_create");
    const std::optional<CrmTime> complete_before = task.Time("complete_before");
    const std::optional<CrmTime> complete_till = task.Time("complete_till");
    if (error || element_type != kLeadElementType) {
        return;  // a task of a contact, company or customer
    }
    if (!element_id || *element_id == 0) {
        task.Fail("element_id", "required");
        return;
    }
    if (!updated_at && !last_modified) {
        task.Fail("last_modified", "required");
        return;
    }
    card.lead_id = *element_id;
    card.updated = updated_at ? *updated_at : *last_modified;
    card.created = created_at ? created_at : date_create;
    card.due = complete_before ? complete_before : complete_till;
    out.emplace_back(std::move(card));
}

void ReadTaskDeletion(const Node& node, const std::string& path, std::vector<Item>& out,
                      std::optional<Error>& error) {
    Reader task(node, path, error);
    const std::int64_t id = task.Id("id");
    if (!error) {
        out.emplace_back(TaskDeletion{.id = id});
    }
}

// `entity` itself must be `entity[<action>]...`.
bool CheckEntity(const Node& entity, std::string_view name, std::optional<Error>& error) {
    if (!entity.has_children() && entity.has_value() && !entity.value().empty()) {
        FailShape(error, std::string(name), fmt::format("{}[<action>][<i>][<field>]", name));
        return false;
    }
    return true;
}

void ReadLeads(const Node& leads, std::vector<Item>& out, std::optional<Error>& error) {
    if (!CheckEntity(leads, "leads", error)) {
        return;
    }
    for (const std::string_view action : kLeadCardActions) {
        if (const Node* node = leads.Find(action)) {
            const bool status_change = action == "status";
            ForEachItem(*node, ChildPath("leads", action), error,
                        [&](const Node& item, const std::string& path) {
                            ReadLeadCard(item, path, status_change, out, error);
                        });
        }
    }
    if (const Node* node = leads.Find("note")) {
        ForEachItem(*node, "leads[note]", error, [&](const Node& item, const std::string& path) {
            ReadNote(item, path, out, error);
        });
    }
    if (const Node* node = leads.Find("delete")) {
        ForEachItem(*node, "leads[delete]", error, [&](const Node& item, const std::string& path) {
            ReadLeadDeletion(item, path, out, error);
        });
    }
}

void ReadTasks(const Node& tasks, std::string_view name, std::vector<Item>& out,
               std::optional<Error>& error) {
    if (!CheckEntity(tasks, name, error)) {
        return;
    }
    for (const std::string_view action : kTaskCardActions) {
        if (const Node* node = tasks.Find(action)) {
            ForEachItem(*node, ChildPath(std::string(name), action), error,
                        [&](const Node& item, const std::string& path) {
                            ReadTaskCard(item, path, out, error);
                        });
        }
    }
    if (const Node* node = tasks.Find("delete")) {
        ForEachItem(*node, ChildPath(std::string(name), "delete"), error,
                    [&](const Node& item, const std::string& path) {
                        ReadTaskDeletion(item, path, out, error);
                    });
    }
}

// Parses and checks a body: everything but the catalog and the time zone.
Result<std::vector<Item>> Extract(std::string_view body) {
    auto parsed = form::Parse(body);
    if (!parsed) {
        return parsed.error();
    }
    const Node& root = *parsed;
    bool known = false;
    for (const std::string_view entity : kEntities) {
        known = known || root.Find(entity) != nullptr;
    }
    if (!known) {
        if (!root.has_children()) {
            return MakeError(
                ErrorCode::kInvalidInput,
                "body: empty; expected an amoCRM webhook form (leads[...], task[...])");
        }
        return MakeError(ErrorCode::kInvalidInput,
                         "body: no amoCRM entity (leads, task, contacts, companies, customers, "
                         "unsorted, catalogs, message, talk); keys: {}",
                         form::Printable(root.children().begin()->first));
    }
    std::optional<Error> error;
    std::vector<Item> items;
    if (const Node* account = root.Find("account")) {
        Reader reader(*account, "account", error);
        (void)reader.OptionalId("id");
    }
    if (const Node* leads = root.Find("leads"); leads != nullptr && !error) {
        ReadLeads(*leads, items, error);
    }
    for (const std::string_view name : {std::string_view("task"), std::string_view("tasks")}) {
        if (const Node* tasks = root.Find(name); tasks != nullptr && !error) {
            ReadTasks(*tasks, name, items, error);
        }
    }
    if (error) {
        return *error;
    }
    return items;
}

// Maps checked items to domain events for one tenant; fetches the catalog and the zone lazily.
class Mapper {
public:
    Mapper(const std::string& tenant, const CatalogSource& catalog, const TimeZoneSource& time_zone,
           const DeletionClock& deletion_clock)
        : tenant_(tenant),
          catalog_source_(catalog),
          time_zone_source_(time_zone),
          deletion_clock_(deletion_clock) {}

    Result<std::vector<domain::Event>> MapAll(std::vector<Item>& items) {
        std::vector<domain::Event> events;
        events.reserve(items.size());
        for (Item& item : items) {
            if (auto mapped = Map(item, events); !mapped) {
                return mapped.error();
            }
        }
        return events;
    }

    Result<void> Map(Item& item, std::vector<domain::Event>& out) {
        if (auto* lead = std::get_if<LeadCard>(&item)) {
            return MapLead(*lead, out);
        }
        if (const auto* deletion = std::get_if<LeadDeletion>(&item)) {
            out.push_back({.id = LeadDeletedEventId(deletion->id),
                           .at = DeletionTime(),
                           .body = domain::DealDeleted{.deal_id = Decimal(deletion->id)}});
            return Ok{};
        }
        if (auto* task = std::get_if<TaskCard>(&item)) {
            MapTask(*task, out);
            return Ok{};
        }
        if (const auto* deletion = std::get_if<TaskDeletion>(&item)) {
            out.push_back({.id = TaskDeletedEventId(deletion->id),
                           .at = DeletionTime(),
                           .body = domain::TaskDeleted{.task_id = Decimal(deletion->id)}});
            return Ok{};
        }
        auto& note = std::get<NoteCard>(item);
        const Timestamp at = Resolve(note.created);
        out.push_back({.id = NoteEventId(note.id),
                       .at = at,
                       .body = domain::NoteAdded{.note = {.id = Decimal(note.id),
                                                          .deal_id = Decimal(note.lead_id),
                                                          .at = at,
                                                          .text = std::move(note.text)}}});
        return Ok{};
    }

private:
    Result<const Catalog*> GetCatalog() {
        if (!catalog_) {
            catalog_ = catalog_source_ ? catalog_source_(tenant_) : nullptr;
            if (!catalog_) {
                return MakeError(ErrorCode::kUnavailable,
                                 "the amoCRM catalog of tenant {} is not loaded yet", tenant_);
            }
        }
        return catalog_.get();
    }

    // The one pipeline that has `status_id` (ids other than 142/143 are account-wide).
    static std::vector<std::int64_t> PipelinesWith(const Catalog& catalog, std::int64_t status_id) {
        std::vector<std::int64_t> found;
        for (const PipelineInfo& pipeline : catalog.pipelines) {
            if (catalog.FindStatus(pipeline.id, status_id) != nullptr) {
                found.push_back(pipeline.id);
            }
        }
        return found;
    }

    Result<std::int64_t> PipelineOf(const Catalog& catalog, const LeadCard& lead) {
        if (lead.pipeline_id) {
            if (catalog.FindPipeline(*lead.pipeline_id) == nullptr) {
                return MakeError(ErrorCode::kUnavailable,
                                 "{}: pipeline {} is not in the amoCRM catalog of tenant {} "
                                 "(added since the last refresh?)",
                                 lead.path, *lead.pipeline_id, tenant_);
            }
            return *lead.pipeline_id;
        }
        const std::vector<std::int64_t> pipelines = PipelinesWith(catalog, lead.status_id);
        if (pipelines.size() == 1) {
            return pipelines.front();
        }
        if (pipelines.empty()) {
            return MakeError(ErrorCode::kUnavailable,
                             "{}: status {} is in no pipeline of the amoCRM catalog of tenant {} "
                             "(added since the last refresh?)",
                             lead.path, lead.status_id, tenant_);
        }
        return MakeError(ErrorCode::kInvalidInput,
                         "{}[pipeline_id]: required: status {} is in {} pipelines", lead.path,
                         lead.status_id, pipelines.size());
    }

    Result<void> MapLead(LeadCard& lead, std::vector<domain::Event>& out) {
        auto catalog = GetCatalog();
        if (!catalog) {
            return catalog.error();
        }
        const Catalog& known = **catalog;
        auto pipeline = PipelineOf(known, lead);
        if (!pipeline) {
            return pipeline.error();
        }
        const Status* status = known.FindStatus(*pipeline, lead.status_id);
        if (status == nullptr) {
            return MakeError(ErrorCode::kUnavailable,
                             "{}: status {} of pipeline {} is not in the amoCRM catalog of tenant "
                             "{} (added since the last refresh?)",
                             lead.path, lead.status_id, *pipeline, tenant_);
        }
        const Timestamp at = Resolve(lead.updated);
        domain::Deal deal{
            .tenant = tenant_,
            .id = Decimal(lead.id),
            .title = std::move(lead.name),
            .pipeline = Decimal(*pipeline),
            .stage = StageName(*status),
            .responsible = lead.responsible.value_or(0) != 0 ? Decimal(*lead.responsible) : "",
            .fields = {},
            .created_at = lead.created ? Resolve(*lead.created) : at,
            .updated_at = at,
        };
        for (FieldValue& field : lead.fields) {
            deal.fields.insert_or_assign(
                field.name.empty() ? known.FieldName(*field.id) : std::move(field.name),
                std::move(field.value));
        }
        if (lead.status_change && lead.old_status_id) {
            if (auto prior = PriorStage(known, lead, *pipeline, deal, at)) {
                out.push_back(std::move(*prior));
            }
        }
        out.push_back({.id = LeadVersionEventId(lead.id, ToEpoch(at), lead.status_id),
                       .at = at,
                       .body = domain::DealUpserted{.deal = std::move(deal)}});
        return Ok{};
    }

    // The card at the stage the lead left, a second before it moved; nothing when the webhook
    // names no other stage or the catalog does not know it (a hint, not worth a retry).
    std::optional<domain::Event> PriorStage(const Catalog& catalog, const LeadCard& lead,
                                            std::int64_t pipeline, const domain::Deal& deal,
                                            Timestamp at) {
        const std::int64_t old_status = *lead.old_status_id;
        std::int64_t old_pipeline = lead.old_pipeline_id.value_or(pipeline);
        if (old_status == lead.status_id && old_pipeline == pipeline) {
            return std::nullopt;
        }
        const Status* status = catalog.FindStatus(old_pipeline, old_status);
        if (status == nullptr && !lead.old_pipeline_id) {
            // Moved from another pipeline, which compact payloads do not name.
            const std::vector<std::int64_t> pipelines = PipelinesWith(catalog, old_status);
            if (pipelines.size() == 1) {
                old_pipeline = pipelines.front();
                status = catalog.FindStatus(old_pipeline, old_status);
            }
        }
        if (status == nullptr) {
            return std::nullopt;
        }
        domain::Deal prior = deal;
        prior.pipeline = Decimal(old_pipeline);
        prior.stage = StageName(*status);
        const Timestamp prior_at = at - Duration{1};
        prior.updated_at = prior_at;
        prior.created_at = std::min(prior.created_at, prior_at);
        return domain::Event{
            .id = LeadPriorStageEventId(lead.id, ToEpoch(at), lead.status_id, old_status),
            .at = prior_at,
            .body = domain::DealUpserted{.deal = std::move(prior)}};
    }

    static std::string StageName(const Status& status) {
        return status.name.empty() ? Decimal(status.id) : status.name;
    }

    void MapTask(TaskCard& task, std::vector<domain::Event>& out) {
        const Timestamp at = Resolve(task.updated);
        domain::Task mapped{
            .id = Decimal(task.id),
            .deal_id = Decimal(task.lead_id),
            .due = {},
            .done = task.done,
            .deleted = false,
            .responsible = task.responsible.value_or(0) != 0 ? Decimal(*task.responsible) : "",
            .text = std::move(task.text),
            .created_at = task.created ? Resolve(*task.created) : at,
            .updated_at = at,
        };
        if (task.due) {
            mapped.due = Resolve(*task.due);
        }
        out.push_back({.id = TaskVersionEventId(task.id, ToEpoch(at)),
                       .at = at,
                       .body = domain::TaskUpserted{.task = std::move(mapped)}});
    }

    Timestamp Resolve(const CrmTime& time) {
        if (!time.local) {
            return time.value;
        }
        if (!zone_loaded_) {
            zone_loaded_ = true;
            const std::string name = time_zone_source_ ? time_zone_source_(tenant_) : "";
            try {
                zone_ = name.empty() ? nullptr : date::locate_zone(name);
            } catch (const std::exception&) {
                zone_ = nullptr;  // config check rejects unknown zones; UTC is the fallback
            }
        }
        if (zone_ == nullptr) {
            return time.value;
        }
        // A time that a DST change skipped or repeated takes the earlier reading.
        return zone_->to_sys(date::local_seconds{time.value.time_since_epoch()},
                             date::choose::earliest);
    }

    Timestamp DeletionTime() {
        if (!deletion_time_) {
            deletion_time_ =
                deletion_clock_
                    ? deletion_clock_()
                    : std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
        }
        return *deletion_time_;
    }

    const std::string& tenant_;
    const CatalogSource& catalog_source_;
    const TimeZoneSource& time_zone_source_;
    const DeletionClock& deletion_clock_;
    std::shared_ptr<const Catalog> catalog_{};
    bool zone_loaded_ = false;
    const date::time_zone* zone_ = nullptr;
    std::optional<Timestamp> deletion_time_{};
};

}  // namespace

AmoDecoder::AmoDecoder(CatalogSource catalog, TimeZoneSource time_zone,
                       DeletionClock deletion_clock)
    : catalog_(std::move(catalog)),
      time_zone_(std::move(time_zone)),
      deletion_clock_(std::move(deletion_clock)) {}

Result<void> AmoDecoder::Validate(std::string_view body) const {
    try {
        auto items = Extract(body);
        if (!items) {
            return items.error();
        }
        return Ok{};
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kInternal, "amoCRM webhook could not be checked: {}",
                         error.what());
    }
}

Result<std::vector<domain::Event>> AmoDecoder::Decode(const crm::WebhookRequest& request) const {
    try {
        auto items = Extract(request.body);
        if (!items) {
            return items.error();
        }
        return Mapper(request.tenant, catalog_, time_zone_, deletion_clock_).MapAll(*items);
    } catch (const std::exception& error) {
        // Only allocation failures or a broken tz database get here (convention 3).
        return MakeError(ErrorCode::kInternal, "amoCRM webhook could not be decoded: {}",
                         error.what());
    }
}

Result<std::optional<std::vector<domain::Event>>> AmoDecoder::ValidateAndDecode(
    const crm::WebhookRequest& request) const {
    try {
        auto items = Extract(request.body);
        if (!items) {
            return items.error();
        }
        auto events = Mapper(request.tenant, catalog_, time_zone_, deletion_clock_).MapAll(*items);
        if (!events) {
            // Stored all the same: its processing decodes it again and keeps the reason, or parks
            // it until the catalog is refreshed.
            return std::optional<std::vector<domain::Event>>{};
        }
        return std::optional<std::vector<domain::Event>>{std::move(events).value()};
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kInternal, "amoCRM webhook could not be checked: {}",
                         error.what());
    }
}

std::string AmoDecoder::DedupeKey(std::string_view body) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(body.data(), body.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
        return {};  // allocation failure inside OpenSSL: the delivery counts as new (safe side)
    }
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 0x0F];
    }
    return hex;
}

}  // namespace fg::adapters::amocrm
