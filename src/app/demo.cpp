#include "src/demo/demo.hpp"

#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"

namespace fg::app {

int RunDemo(const DemoOptions& options) {
    return demo::RunDemo({.speed = options.speed, .db = options.db}, AllDecoders());
}

}  // namespace fg::app
