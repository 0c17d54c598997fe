#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/types.h>

namespace fg::testing {

/// A child process with its stdout captured line by line (stderr passes through).
class ChildProcess {
public:
    explicit ChildProcess(std::vector<std::string> argv);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// The next stdout line, or nullopt on EOF or when `timeout` passes.
    std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
    /// Sends `signal` and waits for the exit; returns the exit status (128+signal if killed).
    int Stop(int signal = SIGTERM);

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string buffer_;
};

/// Runs a command to completion; returns its exit status and stdout.
struct RunResult {
    int status = -1;
    std::string out{};
};
/// With `merge_stderr` the child's stderr is captured into `out` too.
RunResult Run(const std::vector<std::string>& argv, bool merge_stderr = false);

/// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string File(const std::string& name) const { return path_ + "/" + name; }
    /// Writes `content` to `name` (folders created as needed) and returns the file's path.
    std::string Write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

/// `text` split at its newlines (the last line need not end in one).
std::vector<std::string> SplitLines(const std::string& text);

/// A loopback TCP port free now, for a server that keeps its port across a restart (its URL is
/// registered somewhere). It lies below the kernel's ephemeral range, which port-0 binds and
/// outgoing connections draw from, so no other test's server or connection is given it between a
/// kill and the restart; chosen at random, so parallel tests rarely pick the same one.
int StablePort();

}  // namespace fg::testing
