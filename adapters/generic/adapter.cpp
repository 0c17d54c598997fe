#include "adapters/generic/adapter.hpp"

#include "adapters/generic/action_sender.hpp"
#include "adapters/generic/config.hpp"
#include "adapters/generic/decoder.hpp"

namespace fg::adapters::generic {
namespace {

class GenericInstance final : public crm::AdapterInstance {
public:
    std::unique_ptr<crm::WebhookDecoder> MakeDecoder() override {
        return std::make_unique<GenericDecoder>();
    }
    std::unique_ptr<crm::Connector> MakeConnector(const config::TenantConfig&) override {
        return nullptr;
    }
    outbox::PacedSink MakeSink(const config::TenantConfig& tenant) override {
        const GenericSettings& settings = SettingsOf(tenant);
        if (settings.actions_url.empty()) {
            return nullptr;
        }
        return {std::make_unique<ActionSender>(settings.actions_url,
                                               SenderOptions{.ca_file = settings.ca_file}),
                settings.rps};
    }
};

class GenericAdapter final : public crm::Adapter {
public:
    std::string_view Name() const override { return "generic"; }
    config::CrmSchema Schema() const override {
        return {.name = "generic",
                .is_default = true,
                .pipelines_from_api = false,
                .title = "generic",
                .delivers_messages = true,  // its actions_url gets notify and escalate too
                .parse = ParseSettings};
    }
    crm::Credential WebhookCredential() const override { return crm::Credential::kBearer; }
    std::string_view MediaType() const override { return "application/json"; }
    std::unique_ptr<crm::AdapterInstance> Bind(const config::AppConfig&,
                                               const Clock&) const override {
        return std::make_unique<GenericInstance>();
    }
};

}  // namespace

const crm::Adapter& Adapter() {
    static const GenericAdapter adapter;
    return adapter;
}

}  // namespace fg::adapters::generic
