// The one list of CRM adapters. Adding an adapter: its folder under adapters/, and one line here.
#include "src/app/adapters.hpp"

#include "adapters/amocrm/adapter.hpp"
#include "adapters/generic/adapter.hpp"

namespace fg::app {

const crm::AdapterList& CrmAdapters() {
    static const crm::AdapterList adapters = {
        &adapters::generic::Adapter(),
        &adapters::amocrm::Adapter(),
    };
    return adapters;
}

config::CrmSchemas CrmSchemas() {
    config::CrmSchemas schemas;
    for (const crm::Adapter* adapter : CrmAdapters()) {
        schemas.push_back(adapter->Schema());
    }
    return schemas;
}

}  // namespace fg::app
