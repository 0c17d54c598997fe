#pragma once

#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace fg {

/// Why something failed, as data: callers decide on retries and HTTP statuses from `code`.
enum class ErrorCode {
    kInvalidInput,  // the caller sent something malformed; retrying the same input will not help
    kUnauthorized,
    kNotFound,
    kConflict,
    kUnavailable,  // storage or a remote is down for now; retry later
    kInternal,
};

struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message{};
};

template <typename... Args>
Error MakeError(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
    return Error{code, fmt::format(format, std::forward<Args>(args)...)};
}

/// A value or an Error; shaped like std::expected (C++23) so it can become an alias later.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool has_value() const { return state_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

struct Ok {};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Ok) {}  // NOLINT(google-explicit-constructor)
    Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

    bool has_value() const { return !failed_; }
    explicit operator bool() const { return !failed_; }
    const Error& error() const { return error_; }

private:
    Error error_{};
    bool failed_ = false;
};

}  // namespace fg
