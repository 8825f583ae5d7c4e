// Human output: columns aligned under their headings, and key/value lists.
#pragma once

#include <boost/json/value.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace tickerctl {

class Table {
  public:
    explicit Table(std::vector<std::string> headings) : headings_(std::move(headings)) {}

    void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
    bool empty() const { return rows_.empty(); }
    // Headings, then rows; columns separated by two spaces, no trailing blanks.
    void print(std::ostream& out) const;

  private:
    std::vector<std::string> headings_;
    std::vector<std::vector<std::string>> rows_;
};

// "key  value" lines, keys aligned.
void print_pairs(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& pairs);

// A JSON value as a cell: strings bare, null as "-", lists joined with ",", numbers short.
std::string cell(const boost::json::value& value);
// The member `key` of an object as a cell ("-" when missing).
std::string cell(const boost::json::value& object, std::string_view key);

}  // namespace tickerctl
