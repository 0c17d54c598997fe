#pragma once

// What the fuzz targets share: an invariant check that libFuzzer reports as a crash (with the
// input saved), and a rendering of decoded events for comparing two decodes of one body.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/domain/model.hpp"

namespace fg::fuzz {

[[noreturn]] inline void Fail(const char* condition, const char* file, int line,
                              std::string_view detail) {
    std::fprintf(stderr, "\n==fuzz== invariant failed at %s:%d: %s\n==fuzz== %.*s\n", file, line,
                 condition, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

/// Aborts (libFuzzer saves the input as a crash) when `condition` is false; `detail` is any
/// expression convertible to std::string_view, evaluated only on failure.
#define FG_FUZZ_CHECK(condition, detail)                                \
    do {                                                                \
        if (!(condition)) {                                             \
            ::fg::fuzz::Fail(#condition, __FILE__, __LINE__, (detail)); \
        }                                                               \
    } while (false)

inline std::string_view CodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::kInvalidInput:
            return "kInvalidInput";
        case ErrorCode::kUnauthorized:
            return "kUnauthorized";
        case ErrorCode::kNotFound:
            return "kNotFound";
        case ErrorCode::kConflict:
            return "kConflict";
        case ErrorCode::kUnavailable:
            return "kUnavailable";
        case ErrorCode::kInternal:
            return "kInternal";
    }
    return "?";
}

inline std::string Describe(const Error& error) {
    return fmt::format("{}: {}", CodeName(error.code), error.message);
}

/// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
/// written from the definition rather than from the decoders' own checks, so targets can compare.
inline bool IsUtf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        char32_t code = 0;
        if (lead < 0x80) {
            ++i;
            continue;
        }
        if ((lead & 0xE0) == 0xC0) {
            length = 2;
            code = lead & 0x1F;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3;
            code = lead & 0x0F;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4;
            code = lead & 0x07;
        } else {
            return false;
        }
        if (i + length > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) {
                return false;
            }
            code = (code << 6) | (next & 0x3F);
        }
        constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
            return false;
        }
        i += length;
    }
    return true;
}

inline std::string Time(Timestamp t) { return std::to_string(ToEpoch(t)); }

/// Every field of an event, so two decodes can be compared as text.
inline std::string Render(const domain::Event& event) {
    std::string out = fmt::format("{} @{} ", event.id, Time(event.at));
    if (const auto* upsert = std::get_if<domain::DealUpserted>(&event.body)) {
        const domain::Deal& d = upsert->deal;
        out +=
            fmt::format("deal {}|{}|{}|{}|{}|{}|{}|{}|{}|{{", d.tenant, d.id, d.title, d.pipeline,
                        d.stage, d.responsible, Time(d.created_at), Time(d.updated_at), d.deleted);
        for (const auto& [name, value] : d.fields) {
            out += fmt::format("{}={};", name, value);
        }
        out += "}";
    } else if (const auto* deal = std::get_if<domain::DealDeleted>(&event.body)) {
        out += "deal deleted " + deal->deal_id;
    } else if (const auto* upsert = std::get_if<domain::TaskUpserted>(&event.body)) {
        const domain::Task& t = upsert->task;
        out += fmt::format("task {}|{}|{}|{}|{}|{}|{}|{}|{}", t.id, t.deal_id,
                           t.due ? Time(*t.due) : "-", t.done, t.deleted, t.responsible, t.text,
                           Time(t.created_at), Time(t.updated_at));
    } else if (const auto* task = std::get_if<domain::TaskDeleted>(&event.body)) {
        out += "task deleted " + task->task_id;
    } else if (const auto* note = std::get_if<domain::NoteAdded>(&event.body)) {
        const domain::Note& n = note->note;
        out += fmt::format("note {}|{}|{}|{}", n.id, n.deal_id, Time(n.at), n.text);
    } else if (const auto* stage = std::get_if<domain::StageObserved>(&event.body)) {
        out += fmt::format("stage {}|{}|{}", stage->deal_id, stage->pipeline, stage->stage);
    }
    return out;
}

inline std::string Render(const std::vector<domain::Event>& events) {
    std::string out;
    for (const domain::Event& event : events) {
        out += Render(event);
        out += '\n';
    }
    return out;
}

/// Every text a decoded event carries (ids, names, values), for checks that apply to all.
inline std::vector<std::string_view> Texts(const domain::Event& event) {
    std::vector<std::string_view> out = {event.id};
    if (const auto* upsert = std::get_if<domain::DealUpserted>(&event.body)) {
        const domain::Deal& d = upsert->deal;
        out.insert(out.end(), {d.tenant, d.id, d.title, d.pipeline, d.stage, d.responsible});
        for (const auto& [name, value] : d.fields) {
            out.insert(out.end(), {name, value});
        }
    } else if (const auto* deal = std::get_if<domain::DealDeleted>(&event.body)) {
        out.push_back(deal->deal_id);
    } else if (const auto* upsert = std::get_if<domain::TaskUpserted>(&event.body)) {
        const domain::Task& t = upsert->task;
        out.insert(out.end(), {t.id, t.deal_id, t.responsible, t.text});
    } else if (const auto* task = std::get_if<domain::TaskDeleted>(&event.body)) {
        out.push_back(task->task_id);
    } else if (const auto* note = std::get_if<domain::NoteAdded>(&event.body)) {
        out.insert(out.end(), {note->note.id, note->note.deal_id, note->note.text});
    } else if (const auto* stage = std::get_if<domain::StageObserved>(&event.body)) {
        out.insert(out.end(), {stage->deal_id, stage->pipeline, stage->stage});
    }
    return out;
}

/// The id of the entity an event is about (deal, task or note): never empty in a decoded event.
inline std::string_view EntityId(const domain::Event& event) {
    if (const auto* upsert = std::get_if<domain::DealUpserted>(&event.body)) {
        return upsert->deal.id;
    }
    if (const auto* deal = std::get_if<domain::DealDeleted>(&event.body)) {
        return deal->deal_id;
    }
    if (const auto* upsert = std::get_if<domain::TaskUpserted>(&event.body)) {
        return upsert->task.id;
    }
    if (const auto* task = std::get_if<domain::TaskDeleted>(&event.body)) {
        return task->task_id;
    }
    if (const auto* note = std::get_if<domain::NoteAdded>(&event.body)) {
        return note->note.id;
    }
    return std::get<domain::StageObserved>(event.body).deal_id;
}

}  // namespace fg::fuzz
