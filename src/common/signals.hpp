#pragma once

#include <csignal>

namespace fg {

/// Blocks SIGINT and SIGTERM for this thread and every thread started after it, so that the
/// main thread can wait for them with sigwait. Call before starting any thread.
inline sigset_t BlockStopSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    return signals;
}

}  // namespace fg
