// Gatekeeper::authenticate on tokens as a client could spell them: a token is taken only as
// it was signed. Found by tests/fuzz/credentials_fuzz.cpp.
#define BOOST_TEST_MODULE access_tokens
#include <boost/test/unit_test.hpp>

#include "access/access.hpp"
#include "support/keys.hpp"
#include "support/temp_dir.hpp"

#include <jwt.h>

#include <chrono>
#include <cstdlib>

using namespace tickerd;
using tickerd::testing::TempDir;

namespace {

// A gatekeeper with an HS256 secret and an RSA public key, and a token signed with each.
struct Keys {
    TempDir files{"tickerd-access-tokens"};
    std::string private_pem;
    std::shared_ptr<access::Gatekeeper> gatekeeper;

    Keys() {
        auto rsa = tickerd::testing::make_rsa_key_pair();
        private_pem = rsa.private_pem;
        access::AccessSettings settings;
        settings.enabled = true;
        settings.hs256_secret_file =
            files.write("jwt.secret", "a secret for the access_tokens test, long enough");
        settings.public_key_file = files.write("jwt.pub", rsa.public_pem);
        auto made = access::Gatekeeper::make(settings);
        BOOST_TEST_REQUIRE(made.has_value());
        gatekeeper = *made;
    }

    std::string hs256() const {
        access::Principal admin{"ops", {access::Scope::admin}, {}, std::nullopt};
        auto minted = gatekeeper->mint(admin, {});
        BOOST_TEST_REQUIRE(minted.has_value());
        return minted->token;
    }

    std::string rs256() const {
        auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(1))
                       .count();
        auto claims =
            R"({"sub":"app","aud":"tickerd","scope":"read","exp":)" + std::to_string(exp) + "}";
        jwt_t* jwt = nullptr;
        BOOST_TEST_REQUIRE(jwt_new(&jwt) == 0);
        BOOST_TEST_REQUIRE(jwt_add_grants_json(jwt, claims.c_str()) == 0);
        BOOST_TEST_REQUIRE(jwt_set_alg(jwt, JWT_ALG_RS256,
                                       reinterpret_cast<const unsigned char*>(private_pem.data()),
                                       static_cast<int>(private_pem.size())) == 0);
        char* encoded = jwt_encode_str(jwt);
        std::string token = encoded ? encoded : "";
        std::free(encoded);
        jwt_free(jwt);
        return token;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_token_is_taken_only_as_it_was_signed) {
    Keys keys;
    for (const auto& token : {keys.hs256(), keys.rs256()}) {
        BOOST_TEST_REQUIRE(keys.gatekeeper->authenticate(token).has_value());
        auto signature = token.rfind('.') + 1;
        // libjwt decodes an RS256 signature skipping what is not base64, and reads the token
        // up to a NUL (?access_token=…%00…): these spellings of a good token were taken.
        for (const auto& spelling :
             {token.substr(0, signature + 5) + "[" + token.substr(signature + 5),
              token.substr(0, signature) + "\n" + token.substr(signature),
              token + std::string(1, '\0') + "anything", token + "=="}) {
            auto principal = keys.gatekeeper->authenticate(spelling);
            BOOST_TEST_REQUIRE(!principal.has_value(), spelling);
            BOOST_TEST(principal.error().status == 401u);
            BOOST_TEST(principal.error().detail == "malformed token");
        }
    }
}
