// GET /openapi.json (host/src/gateway/web/openapi.json) against the router's own table: every
// route is documented and every documented operation is a route, each open route says so,
// each protected one lists the auth answers, each route with a body lists the body answers,
// and every path parameter is declared. (tests/integration/daemon_openapi_test.cpp runs a
// standard validator on the document a live daemon serves.)
#define BOOST_TEST_MODULE gateway_openapi
#include <boost/test/unit_test.hpp>

#include "gateway/rest.hpp"

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <map>
#include <regex>
#include <set>
#include <string>

namespace json = boost::json;
namespace http = boost::beast::http;
using tickerd::gateway::Need;
using tickerd::gateway::Route;
using tickerd::gateway::RouteKind;

namespace {

const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options"};

const json::object& document() {
    static const json::value parsed = json::parse(tickerd::gateway::openapi_document());
    return parsed.as_object();
}

std::string upper(std::string text) {
    for (auto& c : text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

// "/streaming/config/workers/{id}/stop" → "/streaming/config/workers/{}/stop"
std::string router_form(const std::string& path) {
    static const std::regex parameter(R"(\{[A-Za-z_]+\})");
    return std::regex_replace(path, parameter, "{}");
}

std::string key_of(const Route& route) {
    return std::string(http::to_string(route.method)) + " " + std::string(route.pattern);
}

// "GET /streaming/config/workers/{}" → the document's operation object, or null.
struct Operation {
    std::string path;  // as the document writes it ("{id}")
    const json::object* object;
};
std::map<std::string, Operation> documented_operations() {
    std::map<std::string, Operation> operations;
    for (const auto& [path, item] : document().at("paths").as_object()) {
        for (const auto& [method, operation] : item.as_object()) {
            if (!kMethods.contains(std::string(method))) continue;
            operations[upper(std::string(method)) + " " + router_form(std::string(path))] = {
                std::string(path), &operation.as_object()};
        }
    }
    return operations;
}

bool has_response(const json::object& operation, const std::string& status) {
    return operation.at("responses").as_object().contains(status);
}

// Whether `security` has the empty requirement (no credential needed), or the named scheme.
bool security_has(const json::object& operation, const std::string& scheme) {
    const auto* security = operation.if_contains("security");
    const auto& list = security ? security->as_array() : document().at("security").as_array();
    for (const auto& requirement : list) {
        const auto& object = requirement.as_object();
        if (scheme.empty() ? object.empty() : object.contains(scheme)) return true;
    }
    return false;
}

// Every "$ref" in `value`, as JSON pointers.
void collect_refs(const json::value& value, std::vector<std::string>& refs) {
    if (const auto* object = value.if_object()) {
        for (const auto& [key, item] : *object) {
            if (key == "$ref" && item.is_string()) refs.emplace_back(item.as_string());
            collect_refs(item, refs);
        }
    } else if (const auto* array = value.if_array()) {
        for (const auto& item : *array)
            collect_refs(item, refs);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_document_is_openapi_3_1_with_the_daemons_version) {
    BOOST_TEST(document().at("openapi").as_string() == "3.1.0");
    BOOST_TEST(document().at("info").at("version").as_string() == TICKERD_VERSION);
    BOOST_TEST(document().at("components").at("securitySchemes").as_object().contains("bearer"));
    // A query credential exists, for browsers on the stream routes.
    const auto& query = document().at("components").at("securitySchemes").at("accessToken");
    BOOST_TEST(query.at("in").as_string() == "query");
    BOOST_TEST(query.at("name").as_string() == "access_token");
}

BOOST_AUTO_TEST_CASE(every_route_is_documented_and_every_operation_is_a_route) {
    auto operations = documented_operations();
    std::set<std::string> routed;
    for (const auto& route : tickerd::gateway::routes()) {
        routed.insert(key_of(route));
        BOOST_TEST(operations.contains(key_of(route)), key_of(route) << " is not in openapi.json");
    }
    for (const auto& [key, operation] : operations) {
        BOOST_TEST(routed.contains(key), key << " is documented but no route takes it");
    }
}

BOOST_AUTO_TEST_CASE(each_operation_states_its_access_and_its_error_answers) {
    auto operations = documented_operations();
    std::set<std::string> tags;
    for (const auto& tag : document().at("tags").as_array())
        tags.insert(std::string(tag.at("name").as_string()));
    std::set<std::string> ids;
    for (const auto& route : tickerd::gateway::routes()) {
        auto found = operations.find(key_of(route));
        if (found == operations.end()) continue;  // the test above says so
        const auto& operation = *found->second.object;
        auto key = key_of(route);
        BOOST_TEST_CONTEXT(key) {
            BOOST_TEST(ids.insert(std::string(operation.at("operationId").as_string())).second);
            BOOST_TEST_REQUIRE(operation.at("tags").as_array().size() == 1u);
            BOOST_TEST(tags.contains(std::string(operation.at("tags").at(0).as_string())));
            bool open = route.need == Need::nothing;
            // Open unless auth.protect_metrics: documented with both requirements.
            if (route.need == Need::metrics) {
                BOOST_TEST((security_has(operation, "") && security_has(operation, "bearer")));
            } else {
                BOOST_TEST(security_has(operation, "") == open,
                           "open routes, and only they, need nothing");
                BOOST_TEST(security_has(operation, "bearer") == !open);
            }
            if (!open) {
                for (auto status : {"401", "403", "429"})
                    BOOST_TEST(has_response(operation, status), "missing " << status);
            }
            bool stream = route.kind == RouteKind::sse || route.kind == RouteKind::websocket;
            BOOST_TEST(security_has(operation, "accessToken") == stream,
                       "?access_token= is accepted on the stream routes only");
            BOOST_TEST(operation.contains("requestBody") == route.takes_body);
            if (route.takes_body) {
                for (auto status : {"400", "413", "415", "422"})
                    BOOST_TEST(has_response(operation, status), "missing " << status);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(every_path_parameter_is_declared_by_each_of_its_operations) {
    static const std::regex parameter(R"(\{([A-Za-z_]+)\})");
    for (const auto& [key, operation] : documented_operations()) {
        std::set<std::string> in_path;
        for (std::sregex_iterator it(operation.path.begin(), operation.path.end(), parameter), end;
             it != end; ++it) {
            in_path.insert((*it)[1]);
        }
        std::set<std::string> declared;
        if (const auto* parameters = operation.object->if_contains("parameters")) {
            for (const auto& p : parameters->as_array()) {
                if (p.at("in").as_string() != "path") continue;
                declared.insert(std::string(p.at("name").as_string()));
                BOOST_TEST(p.at("required").as_bool(), key << ": path parameters are required");
            }
        }
        BOOST_TEST(in_path == declared,
                   key << ": the path's parameters and the declared ones differ");
    }
}

BOOST_AUTO_TEST_CASE(every_reference_resolves_and_every_error_is_the_detail_body) {
    std::vector<std::string> refs;
    collect_refs(document(), refs);
    BOOST_TEST(!refs.empty());
    json::value root = document();
    for (const auto& ref : refs) {
        BOOST_TEST_REQUIRE(ref.starts_with("#/"));
        boost::system::error_code ec;
        BOOST_TEST(root.find_pointer(ref.substr(1), ec) != nullptr, ref << " does not resolve");
    }
    const auto& error = document().at("components").at("schemas").at("Error").as_object();
    BOOST_TEST(error.at("required").as_array() == json::array{"detail"});
    for (const auto& [name, response] : document().at("components").at("responses").as_object()) {
        BOOST_TEST(response.at("content").at("application/json").at("schema").at("$ref") ==
                       "#/components/schemas/Error",
                   name);
    }
}
