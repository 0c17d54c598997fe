#include "src/crm/port.hpp"

namespace fg::crm {

const Adapter* FindAdapter(const AdapterList& adapters, std::string_view name) {
    for (const Adapter* adapter : adapters) {
        if (adapter->Name() == name) {
            return adapter;
        }
    }
    return nullptr;
}

std::string HookUrl(const Adapter& adapter, std::string public_url,
                    const config::TenantConfig& tenant) {
    while (!public_url.empty() && public_url.back() == '/') {
        public_url.pop_back();
    }
    std::string url = public_url + "/hooks/" + std::string(adapter.Name()) + "/" + tenant.id;
    if (adapter.WebhookCredential() == Credential::kPathSegment) {
        url += "/" + tenant.secret;
    }
    return url;
}

}  // namespace fg::crm
