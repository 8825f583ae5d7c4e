// The gatekeeper: the current credentials, swapped whole on reload, and the two questions
// asked of them — who is this, and may they have this token.
#include "access/credentials.hpp"

namespace tickerd::access {

struct Gatekeeper::State {
    AccessSettings settings;
    detail::Credentials credentials;
};

Result<std::shared_ptr<Gatekeeper>> Gatekeeper::make(const AccessSettings& settings) {
    auto credentials = detail::load_credentials(settings);
    if (!credentials) return credentials.error();
    auto state = std::make_shared<const State>(State{settings, std::move(*credentials)});
    return std::shared_ptr<Gatekeeper>(new Gatekeeper(std::move(state)));
}

Gatekeeper::Gatekeeper(std::shared_ptr<const State> state) : state_(std::move(state)) {}

Gatekeeper::~Gatekeeper() = default;

Result<void> Gatekeeper::reload(const AccessSettings& settings) {
    auto credentials = detail::load_credentials(settings);
    if (!credentials) return credentials.error();
    state_.store(std::make_shared<const State>(State{settings, std::move(*credentials)}));
    return {};
}

std::shared_ptr<const AccessSettings> Gatekeeper::settings() const {
    auto state = state_.load();
    return {state, &state->settings};  // shares ownership of the state it lives in
}

Result<Principal> Gatekeeper::authenticate(std::string_view credential) const {
    auto state = state_.load();
    const auto& credentials = state->credentials;
    if (credential.empty()) return Error(401, "a credential is required");
    if (detail::looks_like_jwt(credential)) return detail::verify_jwt(credentials, credential);
    if (const auto* key = detail::find_key(credentials.keys, credential)) {
        return Principal{key->name, key->scopes, {}, std::nullopt};
    }
    return Error(401, "unknown API key");
}

Result<Token> Gatekeeper::mint(const Principal& holder, const TokenRequest& request) const {
    auto state = state_.load();
    const auto& credentials = state->credentials;
    if (credentials.hs256_secret.empty()) {
        return Error(501, "minting tokens needs auth.jwt.hs256_secret_file");
    }
    Principal claims = holder;
    if (request.subject && *request.subject != holder.name) {
        if (!holder.scopes.allows(Scope::admin)) {
            return Error(403, "only an admin may mint a token for another subject");
        }
        claims.name = *request.subject;
    }
    if (request.scopes) {
        if (!holder.scopes.covers(*request.scopes)) {
            return Error(403, "scopes: a token cannot grant more than its holder has");
        }
        claims.scopes = *request.scopes;
    }
    if (request.channels) {
        // A requested pattern is within the holder's when one of theirs matches it, its '*'s
        // taken as plain characters: whatever it matches, that pattern matches too.
        for (const auto& pattern : *request.channels) {
            bool within = holder.channels.empty();
            for (const auto& allowed : holder.channels)
                within = within || channel_matches(allowed, pattern);
            if (!within) {
                return Error(403, "channels: '" + pattern + "' is more than the holder may read");
            }
        }
        claims.channels = *request.channels;
    }
    int ttl = request.ttl_seconds.value_or(credentials.token_ttl_seconds);
    if (ttl < 1 || ttl > credentials.token_ttl_seconds) {
        return Error::invalid("ttl_seconds", "must be between 1 and " +
                                                 std::to_string(credentials.token_ttl_seconds));
    }
    // A token never outlives the credential that asked for it.
    auto expires = std::chrono::system_clock::now() + std::chrono::seconds(ttl);
    if (holder.expires_at && *holder.expires_at < expires) {
        ttl = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(
                                   *holder.expires_at - std::chrono::system_clock::now())
                                   .count());
        if (ttl < 1) return Error(401, "the token has expired");
    }
    return detail::sign_jwt(credentials, claims, std::chrono::seconds(ttl));
}

}  // namespace tickerd::access
