#pragma once

// The Telegram notifier's tests: a fake Bot API on loopback, a manual clock, a channel of a
// tenant pointed at the fake, and an Inbound that records what the listener asked of it.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "adapters/telegram/channel.hpp"
#include "adapters/telegram/fake/fake_bot_api.hpp"

namespace fg::adapters::telegram::testing {

inline fake::FakeBotOptions FakeOptions(const Clock& clock) {
    fake::FakeBotOptions options;
    options.clock = &clock;
    return options;
}

class TelegramFixture {
public:
    TelegramFixture() : clock_(FromEpoch(1767000000)), fake_(FakeOptions(clock_)) {
        REQUIRE(fake_.Start());
        settings_.bot_token = fake_.options().token;
        settings_.api_url = fake_.Url();
    }

    std::unique_ptr<TelegramChannel> Channel(ChannelOptions options = {},
                                             const std::string& token = {}) {
        TelegramSettings settings = settings_;
        if (!token.empty()) {
            settings.bot_token = token;
        }
        return std::make_unique<TelegramChannel>("acme", settings, "ru", clock_, options);
    }

    ManualClock& clock() { return clock_; }
    fake::FakeBotApi& fake() { return fake_; }
    const TelegramSettings& settings() const { return settings_; }

private:
    ManualClock clock_;
    fake::FakeBotApi fake_;
    TelegramSettings settings_;
};

inline notify::Message TextMessage(const std::string& text) {
    notify::Message message;
    message.blocks.push_back(notify::Block{.spans = {notify::Span{.text = text}}});
    return message;
}

inline notify::Outgoing To(const std::string& chat, notify::Message message) {
    return notify::Outgoing{.to = notify::Address{.value = chat, .group = chat.front() == '-'},
                            .message = std::move(message),
                            .key = "test:1"};
}

/// An Inbound that records calls and answers as told. Thread-safe.
class RecordingInbound final : public notify::Inbound {
public:
    struct Call {
        std::string what{};   // "link" or "press"
        std::string value{};  // the code or the callback
        std::string from{};
        std::string name{};
    };

    notify::Reply Link(std::string_view code, const notify::Address& from,
                       std::string_view display_name) override {
        return Record("link", code, from, display_name);
    }
    notify::Reply Press(std::string_view callback, const notify::Address& from,
                        std::string_view display_name) override {
        return Record("press", callback, from, display_name);
    }
    std::string Cursor() override {
        std::lock_guard lock(mutex_);
        return cursor_;
    }
    void SaveCursor(const std::string& cursor) override {
        std::lock_guard lock(mutex_);
        cursor_ = cursor;
        ++saves_;
        changed_.notify_all();
    }

    void Answer(notify::Reply reply) {
        std::lock_guard lock(mutex_);
        answer_ = std::move(reply);
    }
    std::vector<Call> Calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    int Saves() const {
        std::lock_guard lock(mutex_);
        return saves_;
    }
    bool WaitForCalls(std::size_t count, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return calls_.size() >= count; });
    }
    /// Waits until the saved cursor is `cursor` (a batch is saved after its link calls).
    bool WaitForCursor(const std::string& cursor, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return cursor_ == cursor; });
    }
    bool WaitForSaves(int count, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return saves_ >= count; });
    }

private:
    notify::Reply Record(const char* what, std::string_view value, const notify::Address& from,
                         std::string_view name) {
        std::lock_guard lock(mutex_);
        calls_.push_back(Call{.what = what,
                              .value = std::string(value),
                              .from = from.value,
                              .name = std::string(name)});
        changed_.notify_all();
        return answer_;
    }

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<Call> calls_;
    std::string cursor_;
    int saves_ = 0;
    notify::Reply answer_{};
};

}  // namespace fg::adapters::telegram::testing
