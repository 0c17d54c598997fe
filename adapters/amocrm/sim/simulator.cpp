#include "adapters/amocrm/sim/simulator.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/elastic_pool.hpp"
#include "adapters/amocrm/sim/generator.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"
#include "adapters/amocrm/sim/validation.hpp"

// The Simulator's lifecycle, inspection and manager operations, and the plumbing its routes
// share. The routes live in one file per resource (simulator_impl.hpp lists them).

namespace fg::adapters::amocrm::sim {

using nlohmann::json;

std::string Simulator::Impl::BaseUrl() const {
    const bool tls = !options.tls_cert_file.empty();
    return fmt::format("{}://{}:{}", tls ? "https" : "http", options.host, port);
}

void Simulator::Impl::Dispatch(const std::vector<HookItem>& hooks) {
    if (hooks.empty()) {
        return;
    }
    for (const SimWebhook& webhook : model.webhooks) {
        std::vector<const HookItem*> items;
        for (const HookItem& item : hooks) {
            if (std::find(webhook.settings.begin(), webhook.settings.end(), item.setting) !=
                webhook.settings.end()) {
                items.push_back(&item);
            }
        }
        if (!items.empty()) {
            sender.Enqueue(webhook.destination, EncodeWebhookBody(items, model));
        }
    }
}

std::int64_t Simulator::Impl::Actor(const std::optional<std::int64_t>& given) const {
    return given ? *given : model.AdminUserId();
}

std::optional<json> Simulator::Impl::ReadBatch(const httplib::Request& req, httplib::Response& res,
                                               std::size_t max) {
    json body = json::parse(req.body);
    if (!body.is_array()) {
        ValidationProblem(res, {{"0", {InvalidType("", "array")}}});
        return std::nullopt;
    }
    if (body.empty()) {
        ValidationProblem(res, {{"0", {NotBlank("")}}});
        return std::nullopt;
    }
    if (body.size() > max) {
        if (max == kMaxBatch) {
            Problem(res, 422, "Unprocessable Entity", fmt::format("Limit {} per page", max));
        } else {
            Problem(res, 400, "Bad Request",
                    fmt::format("Too many entities: at most {} per request", max));
        }
        return std::nullopt;
    }
    return body;
}

std::string Simulator::Impl::RequestIdOr(const std::string& given, std::size_t index) {
    return given.empty() ? std::to_string(index) : given;
}

Simulator::Simulator(SimOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Simulator::~Simulator() { Stop(); }

Result<void> Simulator::Start() {
    Impl& s = *impl_;
    if (s.started) {
        return MakeError(ErrorCode::kConflict, "amoCRM simulator already started");
    }
    {
        std::lock_guard lock(s.mutex);
        s.model.account_id = s.options.account_id;
        s.model.subdomain = s.options.subdomain;
        s.model.webhook_utc_offset = s.options.webhook_utc_offset;
        BuildCatalog(s.model);
        GenerateLeads(s.model, s.options.seed, s.options.leads, s.clock->Now());
        s.token = s.options.token.empty() ? s.MakeJwt(s.clock->Now() + Duration{5LL * 365 * 86400})
                                          : s.options.token;
        for (const std::string& code : s.options.oauth.codes) {
            s.codes[code] = s.clock->Now() + s.options.oauth.code_ttl;
        }
    }
    const bool tls = !s.options.tls_cert_file.empty() || !s.options.tls_key_file.empty();
    if (tls) {
        if (s.options.tls_cert_file.empty() || s.options.tls_key_file.empty()) {
            return MakeError(ErrorCode::kInvalidInput,
                             "amoCRM simulator: TLS needs both a certificate and a key file");
        }
        s.server = std::make_unique<httplib::SSLServer>(s.options.tls_cert_file.c_str(),
                                                        s.options.tls_key_file.c_str());
        if (!s.server->is_valid()) {
            s.server.reset();
            return MakeError(ErrorCode::kInvalidInput,
                             "amoCRM simulator cannot load the TLS certificate {} with key {}",
                             s.options.tls_cert_file, s.options.tls_key_file);
        }
    } else {
        s.server = std::make_unique<httplib::Server>();
    }
    s.server->set_tcp_nodelay(true);
    s.server->set_keep_alive_timeout(std::max(1, s.options.keep_alive_seconds));
    s.server->set_payload_max_length(64 * 1024 * 1024);
    const auto min_threads = static_cast<std::size_t>(std::max(2, s.options.threads));
    const auto max_threads =
        static_cast<std::size_t>(std::max(s.options.threads, s.options.max_threads));
    s.server->new_task_queue = [min_threads, max_threads] {
        return new ElasticPool(min_threads, max_threads);
    };
    s.Register();
    if (s.options.port == 0) {
        s.port = s.server->bind_to_any_port(s.options.host);
    } else if (s.server->bind_to_port(s.options.host, s.options.port)) {
        s.port = s.options.port;
    } else {
        s.port = -1;
    }
    if (s.port <= 0) {
        return MakeError(ErrorCode::kUnavailable, "amoCRM simulator cannot listen on {}:{}",
                         s.options.host, s.options.port);
    }
    {
        std::lock_guard lock(s.mutex);
        s.model.base_url = s.BaseUrl();
    }
    s.sender.Start();
    s.listen_thread = std::thread([&s] { s.server->listen_after_bind(); });
    // stop() before the accept loop runs would be lost, and the join would hang.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!s.server->is_running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    s.started = true;
    return Ok{};
}

void Simulator::Stop() {
    Impl& s = *impl_;
    if (s.listen_thread.joinable()) {
        s.server->stop();
        s.listen_thread.join();
    }
    s.sender.Stop();
}

int Simulator::port() const { return impl_->port; }
std::string Simulator::BaseUrl() const { return impl_->BaseUrl(); }
std::string Simulator::Token() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->token;
}
const Clock& Simulator::clock() const { return *impl_->clock; }
std::string Simulator::Subdomain() const { return impl_->options.subdomain; }
std::int64_t Simulator::AccountId() const { return impl_->options.account_id; }

void Simulator::DropWebhooks(int count) { impl_->sender.DropNext(count); }

SimStats Simulator::Stats() const {
    SimStats stats;
    {
        std::lock_guard lock(impl_->stats_mutex);
        stats = impl_->stats;
    }
    stats.webhooks = impl_->sender.Stats();
    return stats;
}

bool Simulator::WaitWebhooksIdle(std::chrono::milliseconds timeout) const {
    return impl_->sender.WaitIdle(timeout);
}

void Simulator::Block() {
    std::lock_guard lock(impl_->rate_mutex);
    impl_->blocked = true;
}

void Simulator::Unblock() {
    std::lock_guard lock(impl_->rate_mutex);
    impl_->blocked = false;
    impl_->recent_429.clear();
    impl_->window.clear();
}

bool Simulator::Blocked() const {
    std::lock_guard lock(impl_->rate_mutex);
    return impl_->blocked;
}

std::size_t Simulator::RequestsInRateWindow() const {
    std::lock_guard lock(impl_->rate_mutex);
    const auto now = std::chrono::steady_clock::now();
    // Counted, not pruned: Gate() prunes the window as it always did.
    return static_cast<std::size_t>(
        std::count_if(impl_->window.begin(), impl_->window.end(),
                      [&](Impl::SteadyTime at) { return now - at < impl_->options.rate_window; }));
}

std::optional<SimLead> Simulator::GetLead(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    const SimLead* lead = impl_->model.Lead(id);
    return lead != nullptr ? std::optional<SimLead>(*lead) : std::nullopt;
}

std::optional<SimTask> Simulator::GetTask(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    const SimTask* task = impl_->model.Task(id);
    return task != nullptr ? std::optional<SimTask>(*task) : std::nullopt;
}

std::vector<SimTask> Simulator::LeadTasks(std::int64_t lead_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimTask> out;
    for (const std::int64_t id : impl_->model.LeadTaskIds(lead_id)) {
        const SimTask* task = impl_->model.Task(id);
        if (task != nullptr && !task->is_deleted) {
            out.push_back(*task);
        }
    }
    return out;
}

std::vector<SimNote> Simulator::LeadNotes(std::int64_t lead_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimNote> out;
    for (const std::int64_t id : impl_->model.LeadNoteIds(lead_id)) {
        out.push_back(*impl_->model.Note(id));
    }
    return out;
}

std::vector<SimEvent> Simulator::LeadEvents(std::int64_t lead_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimEvent> out;
    for (const SimEvent& event : impl_->model.Events()) {
        if (event.lead_id == lead_id) {
            out.push_back(event);
        }
    }
    return out;
}

std::size_t Simulator::LeadCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Leads().size();
}
std::size_t Simulator::TaskCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Tasks().size();
}
std::size_t Simulator::NoteCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Notes().size();
}
std::size_t Simulator::EventCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Events().size();
}
std::vector<SimPipeline> Simulator::Pipelines() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.pipelines;
}
std::vector<SimUser> Simulator::Users() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.users;
}
std::vector<SimField> Simulator::Fields() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.fields;
}
std::vector<SimWebhook> Simulator::Webhooks() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.webhooks;
}

std::vector<std::int64_t> Simulator::OpenLeadIds(std::int64_t responsible,
                                                 std::size_t limit) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::int64_t> out;
    for (const SimLead& lead : impl_->model.Leads()) {
        if (out.size() >= limit) {
            break;
        }
        if (!lead.is_deleted && lead.responsible_user_id == responsible &&
            !impl_->model.IsClosedStatus(lead.status_id)) {
            out.push_back(lead.id);
        }
    }
    return out;
}

Result<std::int64_t> Simulator::CreateLead(const LeadDraft& draft, std::int64_t actor) {
    std::int64_t id = 0;
    auto result = impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        Model& model = impl_->model;
        LeadPatch patch{.name = draft.name,
                        .price = draft.price,
                        .responsible_user_id = draft.responsible_user_id != 0
                                                   ? draft.responsible_user_id
                                                   : (actor != 0 ? actor : model.AdminUserId()),
                        .fields = draft.fields};
        if (draft.pipeline_id != 0) {
            patch.pipeline_id = draft.pipeline_id;
        }
        if (draft.status_id != 0) {
            patch.status_id = draft.status_id;
        }
        FieldErrors errors;
        CheckFields(model, patch.fields, errors);
        ResolveLeadPatch(model, nullptr, patch, errors);
        if (!errors.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "lead rejected: {}", Describe(errors));
        }
        id = model.CreateLead(SimLead{.name = *patch.name,
                                      .price = *patch.price,
                                      .responsible_user_id = *patch.responsible_user_id,
                                      .status_id = *patch.status_id,
                                      .pipeline_id = *patch.pipeline_id,
                                      .created_by = actor,
                                      .fields = patch.fields},
                              impl_->clock->Now(), hooks);
        return Ok{};
    });
    if (!result) {
        return result.error();
    }
    return id;
}

Result<void> Simulator::UpdateLead(std::int64_t lead_id, const LeadPatch& patch,
                                   std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        Model& model = impl_->model;
        const SimLead* lead = model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        LeadPatch resolved = patch;
        FieldErrors errors;
        CheckFields(model, resolved.fields, errors);
        ResolveLeadPatch(model, lead, resolved, errors);
        if (!errors.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "lead {} change rejected: {}", lead_id,
                             Describe(errors));
        }
        model.UpdateLead(lead_id, resolved, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::MoveLead(std::int64_t lead_id, std::int64_t status_id,
                                 std::int64_t pipeline_id, std::int64_t actor) {
    LeadPatch patch{.status_id = status_id};
    if (pipeline_id != 0) {
        patch.pipeline_id = pipeline_id;
    }
    return UpdateLead(lead_id, patch, actor);
}

Result<void> Simulator::DeleteLead(std::int64_t lead_id, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimLead* lead = impl_->model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        impl_->model.DeleteLead(lead_id, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::RestoreLead(std::int64_t lead_id, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimLead* lead = impl_->model.Lead(lead_id);
        if (lead == nullptr || !lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "deleted lead {} not found", lead_id);
        }
        impl_->model.RestoreLead(lead_id, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<std::int64_t> Simulator::AddTask(std::int64_t lead_id, const std::string& text,
                                        Timestamp due, std::int64_t responsible, std::int64_t actor,
                                        int task_type_id) {
    std::int64_t id = 0;
    auto result = impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        Model& model = impl_->model;
        const SimLead* lead = model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        if (text.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "task text is empty");
        }
        const std::int64_t owner = responsible != 0 ? responsible : lead->responsible_user_id;
        if (model.User(owner) == nullptr) {
            return MakeError(ErrorCode::kInvalidInput, "unknown user {}", owner);
        }
        id = model.AddTask(SimTask{.lead_id = lead_id,
                                   .responsible_user_id = owner,
                                   .created_by = actor,
                                   .complete_till = due,
                                   .task_type_id = task_type_id == 2 ? 2 : 1,
                                   .text = text},
                           impl_->clock->Now(), hooks);
        return Ok{};
    });
    if (!result) {
        return result.error();
    }
    return id;
}

Result<void> Simulator::CompleteTask(std::int64_t task_id, const std::string& result_text,
                                     std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimTask* task = impl_->model.Task(task_id);
        if (task == nullptr || task->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "task {} not found", task_id);
        }
        TaskPatch patch{.is_completed = true};
        if (!result_text.empty()) {
            patch.result_text = result_text;
        }
        impl_->model.UpdateTask(task_id, patch, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::RescheduleTask(std::int64_t task_id, Timestamp due, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimTask* task = impl_->model.Task(task_id);
        if (task == nullptr || task->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "task {} not found", task_id);
        }
        impl_->model.UpdateTask(task_id, TaskPatch{.complete_till = due}, actor,
                                impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::DeleteTask(std::int64_t task_id, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimTask* task = impl_->model.Task(task_id);
        if (task == nullptr || task->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "task {} not found", task_id);
        }
        impl_->model.DeleteTask(task_id, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<std::int64_t> Simulator::AddNote(std::int64_t lead_id, const std::string& text,
                                        std::int64_t actor) {
    std::int64_t id = 0;
    auto result = impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimLead* lead = impl_->model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        if (text.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "note text is empty");
        }
        id = impl_->model.AddNote(SimNote{.lead_id = lead_id,
                                          .note_type = "common",
                                          .text = text,
                                          .created_by = actor,
                                          .responsible_user_id = lead->responsible_user_id},
                                  impl_->clock->Now(), hooks);
        return Ok{};
    });
    if (!result) {
        return result.error();
    }
    return id;
}

}  // namespace fg::adapters::amocrm::sim
