// A three-way merge of shared-config documents, item by item: an instrument (by symbol), a
// cadence (by data type), a price rule (by id) or a global setting changed on one side only keeps
// that side's value; changed on both, ours wins (it is the later write). So two instances changing
// different things at once both keep their change.
#include "cluster/cluster.hpp"

#include "core/json_writer.hpp"

#include <boost/json.hpp>

namespace tickerd::cluster {

namespace {

namespace json = boost::json;

using Items = json::object;  // key → item; a missing key is an absent item

Result<json::object> parse_object(const std::string& text, const char* which) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return Error::malformed(std::string("the ") + which + " config is not a JSON object");
    }
    return std::move(value.get_object());
}

const json::value* find(const Items& items, std::string_view key) {
    return items.if_contains(key);
}

bool same(const json::value* a, const json::value* b) {
    if (!a || !b) return a == b;
    return *a == *b;
}

// The merged items; the order is theirs, then what only ours has.
Items merge_items(const Items& base, const Items& ours, const Items& theirs) {
    Items merged;
    auto take = [&](std::string_view key) {
        const auto* b = find(base, key);
        const auto* o = find(ours, key);
        const auto* t = find(theirs, key);
        const auto* chosen = same(o, b) ? t : o;
        if (chosen) merged[key] = *chosen;
    };
    for (const auto& item : theirs)
        take(item.key());
    for (const auto& item : ours)
        if (!find(theirs, item.key())) take(item.key());
    return merged;
}

Items instruments_by_symbol(const json::object& document) {
    Items items;
    if (const auto* list = document.if_contains("instruments"); list && list->is_array()) {
        for (const auto& instrument : list->get_array()) {
            const auto* symbol =
                instrument.is_object() ? instrument.get_object().if_contains("symbol") : nullptr;
            if (symbol && symbol->is_string()) items[symbol->get_string()] = instrument;
        }
    }
    return items;
}

Items member(const json::object& document, std::string_view key) {
    const auto* value = document.if_contains(key);
    return value && value->is_object() ? value->get_object() : Items{};
}

}  // namespace

Result<std::string> merge_documents(const std::string& base, const std::string& ours,
                                    const std::string& theirs) {
    auto parsed_b = parse_object(base, "agreed");
    auto parsed_o = parse_object(ours, "local");
    auto parsed_t = parse_object(theirs, "shared");
    for (const auto* parsed : {&parsed_b, &parsed_o, &parsed_t}) {
        if (!*parsed) return parsed->error();
    }
    const auto& b = *parsed_b;
    const auto& o = *parsed_o;
    const auto& t = *parsed_t;
    json::array instruments;
    for (auto& item :
         merge_items(instruments_by_symbol(b), instruments_by_symbol(o), instruments_by_symbol(t)))
        instruments.push_back(std::move(item.value()));
    json::object merged = o;
    merged["instruments"] = std::move(instruments);
    merged["cadences"] =
        merge_items(member(b, "cadences"), member(o, "cadences"), member(t, "cadences"));
    merged["global"] = merge_items(member(b, "global"), member(o, "global"), member(t, "global"));
    auto rules =
        merge_items(member(b, "price_rules"), member(o, "price_rules"), member(t, "price_rules"));
    if (rules.empty()) {
        merged.erase("price_rules");
    } else {
        merged["price_rules"] = std::move(rules);
    }
    return write_json(merged) + "\n";
}

}  // namespace tickerd::cluster
