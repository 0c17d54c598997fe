#include "fake_amo.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace fg::adapters::amocrm::testing {

std::string Seen::Param(const std::string& key) const {
    const auto it = params.find(key);
    return it == params.end() ? std::string{} : it->second;
}

FakeAmo::FakeAmo(Handler handler) {
    server_.server().set_tcp_nodelay(true);
    server_.ServeAll(std::move(handler));
    server_.Start();
}

void FakeAmo::SetHandler(Handler handler) { server_.SetHandler(std::move(handler)); }

std::string FakeAmo::BaseUrl() const { return server_.Url(); }

std::vector<Seen> FakeAmo::Requests() const {
    std::vector<Seen> out;
    for (const fg::testing::RecordedRequest& request : server_.Requests()) {
        out.push_back(Seen{.method = request.method,
                           .path = request.path,
                           .params = {request.params.begin(), request.params.end()},
                           .body = request.body,
                           .authorization = request.Header("Authorization"),
                           .content_type = request.Header("Content-Type"),
                           .at = request.at});
    }
    return out;
}

std::vector<Seen> FakeAmo::Requests(const std::string& method, const std::string& path) const {
    std::vector<Seen> out;
    for (const Seen& seen : Requests()) {
        if (seen.method == method && seen.path == path) {
            out.push_back(seen);
        }
    }
    return out;
}

std::size_t FakeAmo::Count(const std::string& method, const std::string& path) const {
    return Requests(method, path).size();
}

void Reply(httplib::Response& response, const nlohmann::json& body, int status) {
    response.status = status;
    response.set_content(body.dump(), "application/hal+json");
}

nlohmann::json ListBody(const std::string& key, const nlohmann::json& items,
                        const std::string& next_href) {
    nlohmann::json body = {
        {"_page", 1},
        {"_links", {{"self", {{"href", "https://example.amocrm.ru/api/v4/" + key}}}}},
        {"_embedded", {{key, items}}}};
    if (!next_href.empty()) {
        body["_links"]["next"] = {{"href", next_href}};
    }
    return body;
}

nlohmann::json PipelinesBody() {
    auto status = [](std::int64_t id, const char* name, int sort, int type, std::int64_t pipeline) {
        return nlohmann::json{{"id", id},
                              {"name", name},
                              {"sort", sort},
                              {"type", type},
                              {"pipeline_id", pipeline},
                              {"is_editable", true}};
    };
    nlohmann::json main = {{"id", 3177727},
                           {"name", "Воронка"},
                           {"sort", 1},
                           {"is_main", true},
                           {"_embedded",
                            {{"statuses",
                              {status(32392156, "Неразобранное", 10, 1, 3177727),
                               status(32392159, "Первичный контакт", 20, 0, 3177727),
                               status(32392165, "Принимают решение", 30, 0, 3177727),
                               status(142, "Успешно реализовано", 10000, 0, 3177727),
                               status(143, "Закрыто и не реализовано", 11000, 0, 3177727)}}}}};
    nlohmann::json second = {
        {"id", 4000},
        {"name", "Партнёры"},
        {"sort", 2},
        {"is_main", false},
        {"_embedded",
         {{"statuses",
           {status(4001, "Новый", 10, 0, 4000), status(142, "Успешно реализовано", 10000, 0, 4000),
            status(143, "Закрыто и не реализовано", 11000, 0, 4000)}}}}};
    return {{"_total_items", 2},
            {"_links", {{"self", {{"href", "https://example.amocrm.ru/api/v4/leads/pipelines"}}}}},
            {"_embedded", {{"pipelines", {main, second}}}}};
}

ClientOptions TestOptions(const FakeAmo& fake, std::vector<std::chrono::milliseconds>* waits,
                          const Clock* clock) {
    ClientOptions options;
    options.tenant = "acme";
    options.base_url = fake.BaseUrl();
    options.token = kToken;
    options.clock = clock;
    options.rps = 1000;
    options.connect_timeout = Duration{2};
    options.read_timeout = Duration{5};
    options.max_attempts = 4;
    if (waits != nullptr) {
        options.sleep = [waits](std::chrono::milliseconds wait) { waits->push_back(wait); };
    } else {
        options.sleep = [](std::chrono::milliseconds) {};
    }
    return options;
}

}  // namespace fg::adapters::amocrm::testing
