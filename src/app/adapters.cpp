// The one list of CRM adapters and chat notifiers. Adding one: its folder under adapters/, and
// one line here.
#include "src/app/adapters.hpp"

#include "adapters/amocrm/adapter.hpp"
#include "adapters/bitrix24/adapter.hpp"
#include "adapters/bitrix24/notify/notifier.hpp"
#include "adapters/generic/adapter.hpp"
#include "adapters/slack/notifier.hpp"
#include "adapters/telegram/notifier.hpp"

namespace fg::app {

const crm::AdapterList& CrmAdapters() {
    static const crm::AdapterList adapters = {
        &adapters::generic::Adapter(),
        &adapters::amocrm::Adapter(),
        &adapters::bitrix24::Adapter(),
    };
    return adapters;
}

const notify::NotifierList& Notifiers() {
    static const notify::NotifierList notifiers = {
        &adapters::telegram::Notifier(),
        &adapters::slack::Notifier(),
        &adapters::bitrix24::notify::Notifier(),
    };
    return notifiers;
}

config::CrmSchemas CrmSchemas() {
    config::CrmSchemas schemas;
    for (const crm::Adapter* adapter : CrmAdapters()) {
        schemas.push_back(adapter->Schema());
    }
    return schemas;
}

config::Schemas ConfigSchemas() {
    config::NotifierSchemas notifiers;
    for (const notify::Notifier* notifier : Notifiers()) {
        notifiers.push_back(notifier->Schema());
    }
    return config::Schemas(CrmSchemas(), std::move(notifiers));
}

}  // namespace fg::app
