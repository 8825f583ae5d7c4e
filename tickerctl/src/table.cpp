#include "table.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>

namespace tickerctl {

namespace json = boost::json;

namespace {

void print_row(std::ostream& out, const std::vector<std::string>& cells,
               const std::vector<std::size_t>& widths) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        line += cells[i];
        if (i + 1 < cells.size()) line.append(widths[i] - cells[i].size() + 2, ' ');
    }
    out << line << '\n';
}

std::string number_text(double number) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", number);
    return text;
}

}  // namespace

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> widths(headings_.size(), 0);
    auto widen = [&](const std::vector<std::string>& cells) {
        for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], cells[i].size());
    };
    widen(headings_);
    for (const auto& row : rows_)
        widen(row);
    print_row(out, headings_, widths);
    for (const auto& row : rows_)
        print_row(out, row, widths);
}

void print_pairs(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::size_t width = 0;
    for (const auto& [key, value] : pairs)
        width = std::max(width, key.size());
    for (const auto& [key, value] : pairs)
        out << key << std::string(width - key.size() + 2, ' ') << value << '\n';
}

std::string cell(const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            return "-";
        case json::kind::string:
            return std::string(value.get_string());
        case json::kind::bool_:
            return value.get_bool() ? "yes" : "no";
        case json::kind::double_:
            return number_text(value.get_double());
        case json::kind::array: {
            std::string items;
            for (const auto& item : value.get_array())
                items += (items.empty() ? "" : ",") + cell(item);
            return items.empty() ? "-" : items;
        }
        default:
            return json::serialize(value);
    }
}

std::string cell(const json::value& object, std::string_view key) {
    const auto* found = object.is_object() ? object.get_object().if_contains(key) : nullptr;
    return found ? cell(*found) : "-";
}

}  // namespace tickerctl
