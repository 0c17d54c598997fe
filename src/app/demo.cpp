#include "src/demo/demo.hpp"

#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"

namespace fg::app {

int RunDemo(const DemoOptions& options) {
    // The bundled day is generic events: the decoders need no tenant's settings.
    const config::AppConfig no_tenants;
    const SystemClock clock;
    Adapters adapters(no_tenants, clock);
    return demo::RunDemo({.speed = options.speed, .db = options.db}, adapters.MakeDecoders());
}

}  // namespace fg::app
