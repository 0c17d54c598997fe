#pragma once

#include <httplib.h>

#include "adapters/amocrm/sim/model.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

// The account's read-only catalog routes: account, users, pipelines and their statuses, custom
// fields. Each renders from the model; the caller holds the model lock. Unknown ids answer 204
// with no body, as the simulator's other by-id routes do (amocrm.md §2.1).

/// GET /api/v4/account (with=amojo_id,uuid,version,is_api_filter_enabled,datetime_settings,
/// task_types,users_groups). `now` dates the account.
void ServeAccount(const Model& model, Timestamp now, const httplib::Request& req,
                  httplib::Response& res);
/// GET /api/v4/users (paged, with=role,group,uuid,amojo_id).
void ServeUsers(const Model& model, const httplib::Request& req, httplib::Response& res);
/// GET /api/v4/users/{id}; matches[1] is the id.
void ServeUserById(const Model& model, const httplib::Request& req, httplib::Response& res);
/// GET /api/v4/leads/pipelines.
void ServePipelines(const Model& model, const httplib::Request& req, httplib::Response& res);
/// GET /api/v4/leads/pipelines/{id}; matches[1] is the id.
void ServePipelineById(const Model& model, const httplib::Request& req, httplib::Response& res);
/// GET /api/v4/leads/pipelines/{pipeline_id}/statuses (with=descriptions).
void ServeStatuses(const Model& model, const httplib::Request& req, httplib::Response& res);
/// GET /api/v4/leads/pipelines/{pipeline_id}/statuses/{id} (with=descriptions).
void ServeStatusById(const Model& model, const httplib::Request& req, httplib::Response& res);
/// GET /api/v4/leads/custom_fields (paged).
void ServeCustomFields(const Model& model, const httplib::Request& req, httplib::Response& res);

}  // namespace fg::adapters::amocrm::sim
