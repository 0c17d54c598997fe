#include "src/app/table.hpp"

#include <algorithm>

#include "src/rules/rule.hpp"

namespace fg::app {
namespace {

// Cuts to at most `chars` code points.
std::string CutUtf8(const std::string& text, std::size_t chars) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            if (count == chars) {
                return text.substr(0, i);
            }
            ++count;
        }
    }
    return text;
}

}  // namespace

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::Render(std::size_t max_width) const {
    const std::size_t columns = rows_.front().size();
    std::vector<std::size_t> widths(columns, 0);
    for (const auto& row : rows_) {
        for (std::size_t c = 0; c + 1 < columns && c < row.size(); ++c) {
            widths[c] = std::min(max_width, std::max(widths[c], rules::Utf8Length(row[c])));
        }
    }
    std::string out;
    for (const auto& row : rows_) {
        for (std::size_t c = 0; c < columns && c < row.size(); ++c) {
            if (c + 1 == columns) {
                out += row[c];
                break;
            }
            const std::string cell = CutUtf8(row[c], widths[c]);
            out += cell;
            out.append(widths[c] - rules::Utf8Length(cell) + 2, ' ');
        }
        out += '\n';
    }
    return out;
}

}  // namespace fg::app
