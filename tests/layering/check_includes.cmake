# Fails when a module includes what it must not (DESIGN.md §5: dependencies point inward).
# Usage: cmake -DROOT=<repo> -P check_includes.cmake
set(failures "")
# forbid(glob pattern why [ALLOW pattern]): includes matching ALLOW are exempt.
function(forbid glob pattern why)
  cmake_parse_arguments(ARG "" "ALLOW" "" ${ARGN})
  file(GLOB_RECURSE files ${ROOT}/${glob})
  foreach(file ${files})
    file(STRINGS ${file} lines REGEX "^#include")
    foreach(line ${lines})
      if(ARG_ALLOW AND line MATCHES "${ARG_ALLOW}")
        continue()
      endif()
      if(line MATCHES "${pattern}")
        file(RELATIVE_PATH rel ${ROOT} ${file})
        set(failures "${failures}\n  ${rel}: ${line} (${why})")
      endif()
    endforeach()
  endforeach()
  # Once, at the end: a PARENT_SCOPE set leaves this scope's copy as it was, so setting it per
  # hit kept only the last one.
  set(failures "${failures}" PARENT_SCOPE)
endfunction()

forbid("src/rules/*" "src/(storage|http|engine|app|cli|outbox)/|adapters/|httplib|SQLite" "rules are pure")
forbid("src/domain/*" "src/(config|rules|storage|http|engine|app)/|adapters/|httplib|SQLite|nlohmann" "the domain is plain data")
forbid("src/config/*" "src/(rules|storage|http|engine|app)/|adapters/|httplib|SQLite" "config knows no I/O but files")
forbid("src/storage/*" "src/(rules|http|engine|app)/|adapters/|httplib" "storage knows no rules or HTTP")
# The outbound client's headers are the one part of src/http adapters may use (never the server).
set(http_client_headers "\"src/http/(client|url|retry_after)\\.hpp\"")
forbid("adapters/*" "src/(storage|engine|app|http)/" "adapters never reach storage or the core"
       ALLOW "${http_client_headers}")
# The fake Telegram Bot API speaks only the wire, so that it tests the notifier rather than
# mirrors it: none of the notifier's headers, no notifier port.
forbid("adapters/telegram/fake/*" "\"(src/(notify|config)/|adapters/telegram/[a-eg-z])"
       "the fake Bot API knows nothing of the notifier")
forbid("adapters/slack/fake/*" "\"(src/(notify|config)/|adapters/slack/[a-eg-z])"
       "the fake Slack knows nothing of the notifier")
# The Bitrix24 simulator speaks only the wire, so that it tests the adapter rather than mirrors
# it: none of the adapter's headers (its own sim/ and the demo account's header aside), no other CRM.
forbid("adapters/bitrix24/sim/*" "\"(src/(crm|config|engine|outbox)/|adapters/(amocrm|generic)/|adapters/bitrix24/[a-rt-z])"
       "the Bitrix24 simulator knows nothing of the adapter")
# Bitrix24's wire is pure (no network, no API): the decoder runs before the 200. Its adapter
# shares nothing with amoCRM's (what both need is CRM-neutral, in src/).
forbid("adapters/bitrix24/wire/*" "adapters/bitrix24/api/|src/http/|httplib" "the wire is pure")
forbid("adapters/bitrix24/api/*" "adapters/(amocrm|generic)/" "the Bitrix24 API is its own")
forbid("adapters/bitrix24/wire/*" "adapters/(amocrm|generic)/" "the Bitrix24 wire is its own")
# Bitrix24 notifications call the portal through the CRM adapter's client (one bucket, one OAuth
# session), never the simulator or another chat service.
forbid("adapters/bitrix24/notify/*" "adapters/(amocrm|generic|telegram|slack)/|adapters/bitrix24/(sim|wire)/"
       "Bitrix24 notifications use the portal's client only")
forbid("src/engine/*" "adapters/|httplib" "the engine knows adapters only through ports")
forbid("src/notify/*" "src/(storage|http|engine|app)/|adapters/|httplib|SQLite" "the notifier port is a port")
forbid("src/outbox/*" "src/(storage|http|engine|app|config)/|adapters/|httplib|SQLite" "actions are plain values")
# So that any module may use the client without httplib's declarations (the engine may not
# have them), and the client never depends on the server.
forbid("src/http/client.hpp" "httplib|src/http/server|src/(storage|engine|app)/" "the client keeps httplib to itself")
forbid("src/http/url.hpp" "httplib|src/http/server|src/(storage|engine|app)/" "the client keeps httplib to itself")
forbid("src/http/retry_after.hpp" "httplib|src/http/server|src/(storage|engine|app)/" "the client keeps httplib to itself")

if(failures)
  message(FATAL_ERROR "Layering violations:${failures}")
endif()
message(STATUS "layering: ok")
