#pragma once

#include <spdlog/spdlog.h>

#include "src/common/log.hpp"  // LogSafe, for what the files log

namespace fg::adapters::amocrm {

/// The "amocrm" module logger the API's client, reader, writer and webhook registration share.
spdlog::logger& Log();

}  // namespace fg::adapters::amocrm
