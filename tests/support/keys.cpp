#include "support/keys.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <stdexcept>

namespace tickerd::testing {

namespace {

std::string pem_of(EVP_PKEY* key, bool private_key) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (private_key) {
        PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
        PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    return pem;
}

}  // namespace

RsaKeyPair make_rsa_key_pair() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    if (!key) throw std::runtime_error("cannot make an RSA key");
    RsaKeyPair pair{pem_of(key, true), pem_of(key, false)};
    EVP_PKEY_free(key);
    return pair;
}

namespace {

std::string hex_of(const unsigned char* bytes, unsigned int length) {
    std::string hex;
    for (unsigned i = 0; i < length; ++i) {
        char byte[3];
        std::snprintf(byte, sizeof byte, "%02x", bytes[i]);
        hex += byte;
    }
    return hex;
}

}  // namespace

std::string sha256_hex(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
    return hex_of(digest, length);
}

std::string hmac_sha256_hex(const std::string& secret, const std::string& text) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &length);
    return hex_of(mac, length);
}

}  // namespace tickerd::testing
