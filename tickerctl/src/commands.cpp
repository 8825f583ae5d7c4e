// Each command is one handler: it asks the daemon (http_client), then prints the answer as
// a table (table) or, with --json, as the API's JSON. The daemon's own errors reach the user
// as its `detail`, unchanged.
#include "commands.hpp"

#include "connection.hpp"
#include "http_client.hpp"
#include "sse.hpp"
#include "table.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iostream>

namespace tickerctl {

namespace json = boost::json;
using boost::beast::http::verb;

namespace {

struct Context {
    const Invocation& invocation;
    const std::vector<std::string>& operands;
    HttpClient& http;
    std::ostream& out;
    bool json_output;
};

using Handler = Outcome<void> (*)(Context&);

// --- talking to the daemon ------------------------------------------------------------------

// "404 Not Found: Instrument FOO not found": the status and the daemon's detail.
std::string describe_error(const Response& response) {
    std::string why = response.body;
    boost::system::error_code ec;
    auto body = json::parse(response.body, ec);
    if (!ec && body.is_object()) {
        if (const auto* detail = body.get_object().if_contains("detail")) {
            why =
                detail->is_string() ? std::string(detail->get_string()) : json::serialize(*detail);
        }
    }
    auto text = std::to_string(response.status) + " " + response.reason;
    return why.empty() ? text : text + ": " + why;
}

// A successful answer: its JSON (null for an empty body) and the text it came as, which
// --json prints unchanged (re-serialising would rewrite the daemon's numbers).
struct Answer {
    json::value value;
    std::string text;
};

// An api failure for an error status.
Outcome<Answer> call(Context& context, verb method, const std::string& path,
                     const json::value* body = nullptr) {
    auto response = context.http.request(method, path, body ? json::serialize(*body) : "");
    if (!response) return response.error();
    if (!response->ok()) return Failure::api(describe_error(*response));
    if (response->body.empty()) return Answer{nullptr, {}};
    boost::system::error_code ec;
    auto value = json::parse(response->body, ec);
    if (ec) return Failure::api("the daemon answered " + path + " with something not JSON");
    return Answer{std::move(value), std::move(response->body)};
}

Outcome<void> print_json(Context& context, const Answer& answer) {
    std::string_view text = answer.text;
    while (text.ends_with('\n'))
        text.remove_suffix(1);
    context.out << text << '\n';
    return {};
}

// Asks, then prints the answer: as it came with --json, else through `print_table`.
template <class PrintTable>
Outcome<void> show(Context& context, verb method, const std::string& path, PrintTable print_table) {
    auto answer = call(context, method, path);
    if (!answer) return answer.error();
    if (context.json_output) return print_json(context, *answer);
    print_table(answer->value);
    return {};
}

const json::array& array_of(const json::value& value) {
    static const json::array kEmpty;
    return value.is_array() ? value.get_array() : kEmpty;
}

const json::value& member(const json::value& value, std::string_view key) {
    static const json::value kNull;
    const auto* found = value.is_object() ? value.get_object().if_contains(key) : nullptr;
    return found ? *found : kNull;
}

// "news" and "worker_news" both name the news worker.
std::string worker_id(const std::string& text) {
    return text.starts_with("worker_") ? text : "worker_" + text;
}

// --- tables ---------------------------------------------------------------------------------

void print_workers(Context& context, const json::value& workers) {
    Table table({"WORKER", "STATUS", "LAST RUN", "NEXT RUN", "OK", "ERRORS", "TIMEOUTS", "VENDOR",
                 "LAST ERROR"});
    for (const auto& w : array_of(workers)) {
        table.add_row({cell(w, "worker_id"), cell(w, "status"), cell(w, "last_run"),
                       cell(w, "next_run"), cell(w, "success_count"), cell(w, "error_count"),
                       cell(w, "timeout_count"), cell(w, "current_vendor"), cell(w, "last_error")});
    }
    table.print(context.out);
}

void print_instruments(Context& context, const json::array& instruments) {
    Table table({"SYMBOL", "DATA TYPES", "ENABLED"});
    for (const auto& i : instruments)
        table.add_row({cell(i, "symbol"), cell(i, "data_types"), cell(i, "enabled")});
    table.print(context.out);
}

void print_cadences(Context& context, const json::array& cadences) {
    Table table({"DATA TYPE", "INTERVAL (S)", "ENABLED", "RETRIES", "BACKOFF", "FALLBACK"});
    for (const auto& c : cadences) {
        table.add_row({cell(c, "data_type"), cell(c, "interval_seconds"), cell(c, "enabled"),
                       cell(c, "retry_attempts"), cell(c, "retry_backoff_multiplier"),
                       cell(c, "vendor_fallback")});
    }
    table.print(context.out);
}

void print_vendors(Context& context, const json::value& vendors) {
    Table plugins({"PLUGIN", "VERSION", "ABI", "STATE", "SIMULATED", "DATA TYPES", "FILE"});
    for (const auto& p : array_of(member(vendors, "plugins"))) {
        plugins.add_row({cell(p, "name"), cell(p, "version"), cell(p, "abi_version"),
                         cell(p, "state"), cell(p, "simulated"), cell(p, "data_types"),
                         cell(p, "file")});
    }
    plugins.print(context.out);
    context.out << '\n';
    Table instances({"VENDOR", "PLUGIN", "PRIORITY", "ENABLED", "STATE"});
    for (const auto& i : array_of(member(vendors, "instances"))) {
        instances.add_row({cell(i, "name"), cell(i, "plugin"), cell(i, "priority"),
                           cell(i, "enabled"), cell(i, "state")});
    }
    instances.print(context.out);
}

std::string duration_text(double seconds) {
    auto total = static_cast<long>(seconds);
    std::string text;
    if (total >= 86400) text += std::to_string(total / 86400) + "d ";
    if (total >= 3600) text += std::to_string(total / 3600 % 24) + "h ";
    if (total >= 60) text += std::to_string(total / 60 % 60) + "m ";
    return text + std::to_string(total % 60) + "s";
}

std::string redis_text(const json::value& redis) {
    if (!member(redis, "enabled").is_bool() || !member(redis, "enabled").get_bool()) return "off";
    auto where = cell(redis, "host") + ":" + cell(redis, "port");
    if (member(redis, "connected") == json::value(true)) return "connected to " + where;
    return "not connected to " + where + " (" + cell(redis, "last_error") + ")";
}

// --- the handlers ---------------------------------------------------------------------------

void print_status(Context& context, const json::value& s) {
    const auto& workers = member(s, "workers");
    const auto& plugins = member(s, "plugins");
    double uptime = member(s, "uptime_seconds").is_number()
                        ? member(s, "uptime_seconds").to_number<double>()
                        : 0;
    print_pairs(
        context.out,
        {{"daemon", cell(s, "name") + " " + cell(s, "version")},
         {"status", cell(s, "status")},
         {"uptime", duration_text(uptime)},
         {"role", cell(s, "role")},
         {"bus", cell(s, "bus")},
         {"redis", redis_text(member(s, "redis"))},
         {"streaming", cell(member(s, "streaming"), "enabled") == "yes" ? "on" : "off"},
         {"published types", cell(s, "published_types")},
         {"workers", cell(workers, "running") + " of " + cell(workers, "total") + " running"},
         {"plugins", cell(plugins, "loaded") + " loaded, " + cell(plugins, "refused") + " refused"},
         {"vendors",
          cell(plugins, "vendors_ready") + " of " + cell(plugins, "vendors") + " ready"}});
}

Outcome<void> show_status(Context& context) {
    return show(context, verb::get, "/",
                [&](const json::value& status) { print_status(context, status); });
}

Outcome<void> list_workers(Context& context) {
    return show(context, verb::get, "/streaming/config/workers",
                [&](const json::value& workers) { print_workers(context, workers); });
}

// POST …/{id}/start or stop, then the worker as it is now (the POST answers 204).
Outcome<void> change_worker(Context& context, std::string_view action) {
    auto path = "/streaming/config/workers/" + percent_encode(worker_id(context.operands[0]));
    if (auto changed = call(context, verb::post, path + "/" + std::string(action)); !changed) {
        return changed.error();
    }
    auto worker = call(context, verb::get, path);
    if (!worker) return worker.error();
    if (context.json_output) return print_json(context, *worker);
    print_workers(context, json::array{worker->value});
    return {};
}

Outcome<void> start_worker(Context& context) {
    return change_worker(context, "start");
}

Outcome<void> stop_worker(Context& context) {
    return change_worker(context, "stop");
}

Outcome<void> change_all_workers(Context& context, std::string_view action) {
    auto path = "/streaming/config/workers/" + std::string(action);
    if (auto changed = call(context, verb::post, path); !changed) return changed.error();
    return list_workers(context);
}

Outcome<void> start_all_workers(Context& context) {
    return change_all_workers(context, "start-all");
}

Outcome<void> stop_all_workers(Context& context) {
    return change_all_workers(context, "stop-all");
}

Outcome<void> list_instruments(Context& context) {
    return show(context, verb::get, "/streaming/config/instruments",
                [&](const json::value& list) { print_instruments(context, array_of(list)); });
}

// The daemon validates the symbol and the data types and says what is wrong.
Outcome<void> add_instrument(Context& context) {
    json::object body{{"symbol", context.operands[0]}};
    if (auto types = context.invocation.option("data-types")) {
        json::array list;
        for (const auto& type : split_list(*types))
            list.emplace_back(type);
        body["data_types"] = std::move(list);
    }
    if (context.invocation.has("disabled")) body["enabled"] = false;
    json::value request = std::move(body);
    auto stored = call(context, verb::post, "/streaming/config/instruments", &request);
    if (!stored) return stored.error();
    if (context.json_output) return print_json(context, *stored);
    print_instruments(context, json::array{stored->value});
    return {};
}

// DELETE answers 204: nothing to print with --json.
Outcome<void> remove_instrument(Context& context) {
    const auto& symbol = context.operands[0];
    auto removed =
        call(context, verb::delete_, "/streaming/config/instruments/" + percent_encode(symbol));
    if (!removed) return removed.error();
    if (!context.json_output) context.out << "removed " << symbol << '\n';
    return {};
}

Outcome<void> list_cadences(Context& context) {
    return show(context, verb::get, "/streaming/config/cadences",
                [&](const json::value& list) { print_cadences(context, array_of(list)); });
}

// PUT replaces the whole cadence: read it first so that only the interval changes.
Outcome<void> set_cadence(Context& context) {
    auto path = "/streaming/config/cadences/" + percent_encode(context.operands[0]);
    auto seconds = parse_seconds("SECONDS", context.operands[1]);
    if (!seconds) return seconds.error();
    auto cadence = call(context, verb::get, path);
    if (!cadence) return cadence.error();
    auto& fields = cadence->value;
    if (!fields.is_object()) return Failure::api("the daemon's cadence is not an object");
    fields.get_object()["interval_seconds"] = *seconds;
    fields.get_object().erase("data_type");
    auto stored = call(context, verb::put, path, &fields);
    if (!stored) return stored.error();
    if (context.json_output) return print_json(context, *stored);
    print_cadences(context, json::array{stored->value});
    return {};
}

Outcome<void> list_vendors(Context& context) {
    return show(context, verb::get, "/streaming/config/vendors",
                [&](const json::value& vendors) { print_vendors(context, vendors); });
}

// What the rescan did, then the vendors as they are now.
void print_rescan(Context& context, const json::value& vendors) {
    const auto& rescan = member(vendors, "rescan");
    print_pairs(context.out, {{"loaded", cell(rescan, "loaded")},
                              {"reloaded", cell(rescan, "reloaded")},
                              {"unloaded", cell(rescan, "unloaded")},
                              {"refused", cell(rescan, "refused")},
                              {"took (ms)", cell(rescan, "took_ms")}});
    context.out << '\n';
    print_vendors(context, vendors);
}

Outcome<void> reload_vendors(Context& context) {
    return show(context, verb::post, "/streaming/config/vendors/reload",
                [&](const json::value& vendors) { print_rescan(context, vendors); });
}

// "symbol=AAPL price=261.41 …": the data's fields, values as table cells.
std::string fields_text(const json::value& data) {
    if (!data.is_object()) return json::serialize(data);
    std::string text;
    for (const auto& [key, value] : data.get_object()) {
        bool nested = value.is_object() || value.is_array();
        if (!text.empty()) text += ' ';
        text.append(key).append("=").append(nested ? json::serialize(value) : cell(value));
    }
    return text;
}

// One line per message: "<id>  <channel>  <data's fields>", or the StreamMessage as sent
// with --json.
void print_message(Context& context, const SseEvent& event) {
    if (context.json_output) {
        context.out << event.data << std::endl;
        return;
    }
    boost::system::error_code ec;
    auto message = json::parse(event.data, ec);
    if (ec) {
        context.out << event.id << "  " << event.data << std::endl;
        return;
    }
    context.out << event.id << "  " << cell(message, "channel") << "  "
                << fields_text(member(message, "data")) << std::endl;
}

std::string subscribe_path(const std::vector<std::string>& channels) {
    std::string list;
    for (const auto& channel : channels)
        list += (list.empty() ? "" : ",") + percent_encode(channel);
    // Resume (CONTRACT.md §7: Last-Event-ID or ?last_event_id=) goes here once the daemon
    // replays history; until then a --since would promise what the daemon cannot keep.
    return "/streaming/subscribe/sse?channels=" + list;
}

Outcome<void> tail_channels(Context& context) {
    long wanted = 0;  // 0: until Ctrl-C
    if (auto count = context.invocation.option("count")) {
        auto parsed = parse_count("--count", *count);
        if (!parsed) return parsed.error();
        wanted = *parsed;
    }
    SseReader reader;
    long seen = 0;
    auto on_bytes = [&](std::string_view bytes) {
        for (const auto& event : reader.feed(bytes)) {
            print_message(context, event);
            if (wanted && ++seen >= wanted) return false;
        }
        return true;
    };
    auto result = context.http.stream(subscribe_path(context.operands), on_bytes);
    if (!result) return result.error();
    if (!result->response.ok() && result->response.status != 0) {
        return Failure::api(describe_error(result->response));
    }
    if (result->end == StreamEnd::server_ended) {
        return Failure::unreachable("the daemon ended the stream");
    }
    return {};
}

Outcome<void> publish_message(Context& context) {
    const auto& channel = context.operands[0];
    boost::system::error_code ec;
    auto data = json::parse(context.operands[1], ec);
    if (ec) return Failure::usage("JSON: not valid JSON (" + ec.message() + ")");
    json::value body = json::object{{"data", std::move(data)}};
    auto answer = call(context, verb::post, "/streaming/publish/" + percent_encode(channel), &body);
    if (!answer) return answer.error();
    if (context.json_output) return print_json(context, *answer);
    context.out << "published " << cell(answer->value, "id") << " to " << channel << '\n';
    return {};
}

Outcome<json::value> token_request(const Invocation& invocation) {
    json::object body;
    auto list = [](const std::string& text) {
        json::array items;
        for (const auto& item : split_list(text))
            items.emplace_back(item);
        return items;
    };
    if (auto scopes = invocation.option("scopes")) body["scopes"] = list(*scopes);
    if (auto channels = invocation.option("channels")) body["channels"] = list(*channels);
    if (auto ttl = invocation.option("ttl")) {
        auto seconds = parse_count("--ttl", *ttl);
        if (!seconds) return seconds.error();
        body["ttl_seconds"] = *seconds;
    }
    return json::value(std::move(body));
}

// The token alone on stdout, so that $(tickerctl token) is the token; its expiry on stderr.
Outcome<void> mint_token(Context& context) {
    auto body = token_request(context.invocation);
    if (!body) return body.error();
    auto token = call(context, verb::post, "/streaming/tokens", &*body);
    if (!token) return token.error();
    if (context.json_output) return print_json(context, *token);
    context.out << cell(token->value, "token") << '\n';
    std::cerr << "expires at " << cell(token->value, "expires_at") << '\n';
    return {};
}

// --- the table of commands ------------------------------------------------------------------

struct Command {
    CommandSpec spec;
    Handler handler;
};

constexpr std::size_t kMany = static_cast<std::size_t>(-1);

const std::vector<Command>& commands() {
    static const std::vector<Command> kCommands = {
        {{"status", "", 0, 0, {}, "the daemon's status: version, uptime, Redis, workers, plugins"},
         &show_status},
        {{"workers ls", "", 0, 0, {}, "list the workers and their counters"}, &list_workers},
        {{"workers start", "ID", 1, 1, {}, "start a worker (worker_news or news)"}, &start_worker},
        {{"workers stop", "ID", 1, 1, {}, "stop a worker"}, &stop_worker},
        {{"workers start-all", "", 0, 0, {}, "start every worker"}, &start_all_workers},
        {{"workers stop-all", "", 0, 0, {}, "stop every worker"}, &stop_all_workers},
        {{"instruments ls", "", 0, 0, {}, "list the instruments"}, &list_instruments},
        {{"instruments add",
          "SYMBOL",
          1,
          1,
          {"data-types", "disabled"},
          "add or replace an instrument"},
         &add_instrument},
        {{"instruments rm", "SYMBOL", 1, 1, {}, "remove an instrument"}, &remove_instrument},
        {{"cadences ls", "", 0, 0, {}, "list the polling cadences"}, &list_cadences},
        {{"cadences set", "DATA_TYPE SECONDS", 2, 2, {}, "set how often a data type is polled"},
         &set_cadence},
        {{"vendors ls", "", 0, 0, {}, "list the plugins and the vendor instances"}, &list_vendors},
        {{"vendors reload", "", 0, 0, {}, "rescan the plugin folders now"}, &reload_vendors},
        {{"tail",
          "CHANNEL...",
          1,
          kMany,
          {"count"},
          "print the channels' messages as they come, one line each, until Ctrl-C"},
         &tail_channels},
        {{"publish", "CHANNEL JSON", 2, 2, {}, "publish JSON as a message's data on a channel"},
         &publish_message},
        {{"token",
          "",
          0,
          0,
          {"scopes", "ttl", "channels"},
          "mint a short-lived token (for browsers and scripts)"},
         &mint_token},
    };
    return kCommands;
}

std::vector<CommandSpec> specs() {
    std::vector<CommandSpec> all;
    for (const auto& command : commands())
        all.push_back(command.spec);
    return all;
}

Handler handler_of(const CommandSpec& spec) {
    for (const auto& command : commands()) {
        if (command.spec.name == spec.name) return command.handler;
    }
    return nullptr;
}

// --- usage ----------------------------------------------------------------------------------

std::string command_line(const CommandSpec& spec) {
    std::string line(spec.name);
    if (!spec.operands.empty()) line += " " + std::string(spec.operands);
    for (auto name : spec.options) {
        const auto* option = find_option(name);
        line += " [--" + std::string(name);
        if (!option->value_name.empty()) line += " " + std::string(option->value_name);
        line += "]";
    }
    return line;
}

void print_options(std::ostream& out, bool global, const std::vector<std::string_view>& only) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& option : all_options()) {
        bool listed =
            global ? option.global : std::find(only.begin(), only.end(), option.name) != only.end();
        if (!listed) continue;
        auto name = "  --" + std::string(option.name);
        if (!option.value_name.empty()) name += " " + std::string(option.value_name);
        rows.emplace_back(name, std::string(option.help));
    }
    print_pairs(out, rows);
}

void print_general_usage(std::ostream& out, std::string_view group = {}) {
    out << "usage: tickerctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n";
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& command : commands()) {
        if (!group.empty() && !command.spec.name.starts_with(std::string(group) + " ")) continue;
        rows.emplace_back("  " + command_line(command.spec), std::string(command.spec.summary));
    }
    print_pairs(out, rows);
    out << "\noptions:\n";
    print_options(out, true, {});
    out << "\nThe URL and the credential come from --url and --token/--api-key, else from\n"
           "TICKERD_URL and TICKERD_TOKEN/TICKERD_API_KEY, else from\n"
           "$XDG_CONFIG_HOME/tickerd/cli.json (~/.config/tickerd/cli.json); the URL defaults\n"
           "to "
        << kDefaultUrl
        << ".\n\nexit status: 0 ok, 1 the daemon answered with an error, 2 usage error,\n"
           "3 the daemon could not be reached. See tickerctl(1).\n";
}

void print_command_usage(std::ostream& out, const CommandSpec& spec) {
    out << "usage: tickerctl " << command_line(spec) << " [OPTIONS]\n\n" << spec.summary << "\n";
    if (!spec.options.empty()) {
        out << "\noptions:\n";
        print_options(out, false, spec.options);
    }
    out << "\nglobal options:\n";
    print_options(out, true, {});
}

}  // namespace

void print_usage(std::ostream& out, const std::vector<std::string>& words) {
    auto all = specs();
    std::size_t used = 0;
    if (const auto* spec = find_command(all, words, used)) return print_command_usage(out, *spec);
    // A group ("workers"): its commands; anything else: everything.
    for (const auto& spec : all) {
        if (!words.empty() && spec.name.starts_with(words[0] + " ")) {
            return print_general_usage(out, words[0]);
        }
    }
    print_general_usage(out);
}

Outcome<void> run_command(std::span<const char* const> arguments, std::ostream& out) {
    auto invocation = parse_arguments(arguments);
    if (!invocation) return invocation.error();
    if (invocation->has("version")) {
        out << "tickerctl " << TICKERCTL_VERSION << '\n';
        return {};
    }
    auto words = invocation->words;
    if (!words.empty() && words[0] == "help") words.erase(words.begin());
    if (invocation->has("help") || invocation->words != words) {
        print_usage(out, words);
        return {};
    }
    auto all = specs();
    auto matched = match_command(all, *invocation);
    if (!matched) return matched.error();
    auto settings = resolve_connection(*invocation);
    if (!settings) return settings.error();
    HttpClient http(std::move(*settings));
    Context context{*invocation, matched->operands, http, out, invocation->has("json")};
    return handler_of(*matched->spec)(context);
}

}  // namespace tickerctl
