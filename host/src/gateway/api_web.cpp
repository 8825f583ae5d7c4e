// What a browser or a tool reads about the daemon itself: the OpenAPI document and the
// dashboard (its page and assets). Every byte is built into the binary (tickerd_embed in
// host/CMakeLists.txt), so nothing is installed beside it and the page works offline. The
// routes are open: they hold no data; the API calls the page makes are authorised as usual.
#include "gateway/rest.hpp"

#include "core/json_writer.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>

#include <array>

namespace tickerd::assets {
extern const std::string_view openapi_json;
extern const std::string_view dashboard_html;
extern const std::string_view dashboard_js;
extern const std::string_view dashboard_css;
extern const std::string_view uplot_js;
extern const std::string_view uplot_css;
}  // namespace tickerd::assets

namespace tickerd::gateway {

namespace http = boost::beast::http;

namespace {

// The page asks for its assets with ?v=<version>, so a browser may keep them for a day and
// still never runs a script of another version against the page; the page itself is always
// revalidated.
constexpr std::string_view kPageCache = "no-cache";
constexpr std::string_view kAssetCache = "public, max-age=86400";
// Only this daemon's own scripts, styles and API: no inline script, no other origin, no frame.
constexpr std::string_view kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// Where the page names the version it asks its assets for.
constexpr std::string_view kVersionMark = "{{version}}";

struct Asset {
    std::string_view name;
    const std::string_view& bytes;
    std::string_view content_type;
};

const std::array kAssets = {
    Asset{"dashboard.js", assets::dashboard_js, "text/javascript; charset=utf-8"},
    Asset{"dashboard.css", assets::dashboard_css, "text/css; charset=utf-8"},
    Asset{"uPlot.iife.min.js", assets::uplot_js, "text/javascript; charset=utf-8"},
    Asset{"uPlot.min.css", assets::uplot_css, "text/css; charset=utf-8"},
};

Reply static_reply(std::string body, std::string_view content_type, std::string_view cache) {
    return {200,
            std::move(body),
            {{http::field::content_type, std::string(content_type)},
             {http::field::cache_control, std::string(cache)}},
            {{"X-Content-Type-Options", "nosniff"}}};
}

std::string with_version(std::string_view text) {
    std::string out;
    for (auto mark = text.find(kVersionMark); mark != std::string_view::npos;
         mark = text.find(kVersionMark)) {
        out.append(text.substr(0, mark)).append(TICKERD_VERSION);
        text.remove_prefix(mark + kVersionMark.size());
    }
    return out.append(text);
}

}  // namespace

std::string openapi_document() {
    // The file says "TICKERD_VERSION" where the daemon's version goes. Parsed once: a file
    // that does not parse fails the unit test, never a request.
    static const std::string document = [] {
        auto value = boost::json::parse(assets::openapi_json);
        value.at("info").as_object()["version"] = TICKERD_VERSION;
        return write_json(value);
    }();
    return document;
}

Reply get_openapi(Services&, const RouteArgs&) {
    return static_reply(openapi_document(), "application/json", kPageCache);
}

Reply get_dashboard(Services&, const RouteArgs&) {
    Reply reply =
        static_reply(with_version(assets::dashboard_html), "text/html; charset=utf-8", kPageCache);
    reply.headers.emplace_back(http::field::x_frame_options, "DENY");
    reply.named_headers.emplace_back("Content-Security-Policy", std::string(kPagePolicy));
    reply.named_headers.emplace_back("Referrer-Policy", "no-referrer");
    return reply;
}

Reply get_dashboard_asset(Services&, const RouteArgs& args) {
    const std::string& name = args.params.at(0);
    for (const auto& asset : kAssets) {
        if (asset.name == name)
            return static_reply(std::string(asset.bytes), asset.content_type, kAssetCache);
    }
    return error_reply(Error::not_found("no dashboard asset '" + name + "'"));
}

}  // namespace tickerd::gateway
