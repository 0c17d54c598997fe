#include "adapters/amocrm/api/log.hpp"

#include "src/common/log.hpp"

namespace fg::adapters::amocrm {

spdlog::logger& Log() {
    static const std::shared_ptr<spdlog::logger> logger = ModuleLogger("amocrm");
    return *logger;
}

}  // namespace fg::adapters::amocrm
