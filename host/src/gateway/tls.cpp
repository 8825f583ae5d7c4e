// TLS contexts: TLS 1.2 and later only, OpenSSL's default ciphers (which drop what is
// broken), the certificate chain and key checked against each other when read, and a client
// certificate demanded when a client CA is given.
#include "gateway/gateway.hpp"

#include <openssl/ssl.h>

namespace tickerd::gateway {

namespace ssl = boost::asio::ssl;

namespace {

Result<std::shared_ptr<ssl::context>> make_context(const access::TlsSettings& settings) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    auto fail = [](const std::string& key, const std::filesystem::path& file,
                   const boost::system::error_code& ec) {
        return Error::invalid(key, "'" + file.string() + "': " + ec.message());
    };
    boost::system::error_code ec;
    if (!settings.key_file) return Error::invalid("tls.key_file", "required with tls.cert_file");
    context->use_certificate_chain_file(settings.cert_file->string(), ec);
    if (ec) return fail("tls.cert_file", *settings.cert_file, ec);
    context->use_private_key_file(settings.key_file->string(), ssl::context::pem, ec);
    if (ec) return fail("tls.key_file", *settings.key_file, ec);
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
        return Error::invalid("tls.key_file", "does not match the certificate in tls.cert_file");
    }
    if (settings.client_ca_file) {
        context->load_verify_file(settings.client_ca_file->string(), ec);
        if (ec) return fail("tls.client_ca_file", *settings.client_ca_file, ec);
        context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return context;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::make(const access::TlsSettings& settings) {
    auto context = make_context(settings);
    if (!context) return context.error();
    return std::shared_ptr<TlsContext>(new TlsContext(std::move(*context)));
}

TlsContext::TlsContext(std::shared_ptr<ssl::context> context) : current_(std::move(context)) {}

Result<void> TlsContext::reload(const access::TlsSettings& settings) {
    auto context = make_context(settings);
    if (!context) return context.error();
    current_.store(std::move(*context));
    return {};
}

std::shared_ptr<ssl::context> TlsContext::current() const {
    return current_.load();
}

}  // namespace tickerd::gateway
