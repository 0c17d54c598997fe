#pragma once

#include <string>
#include <vector>

namespace fg::app {

/// A plain text table; widths count Unicode characters, so Cyrillic columns line up.
class Table {
public:
    explicit Table(std::vector<std::string> header);
    void Add(std::vector<std::string> row);
    /// Columns are padded to their widest cell (capped at `max_width`, longer cells are cut);
    /// the last column is never padded or cut.
    std::string Render(std::size_t max_width = 40) const;

private:
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace fg::app
