#include "smtp/wire/tls.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include "smtp/wire/endpoint.hpp"

namespace smtp::wire::tls {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

int version_of(MinVersion v) {
  return v == MinVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

void common_options(ssl::context& ctx, MinVersion minimum) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), version_of(minimum));
}

}  // namespace

std::string reason(const error_code& ec) {
  std::string text = ec.message();
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (r != nullptr) text = r;
  }
  return text;
}

ssl::context client_context(const ClientSettings& s) {
  ssl::context ctx(ssl::context::tls_client);
  common_options(ctx, s.minimum);
  error_code ec;
  if (s.verify != Verify::none) {
    if (s.cafile || s.capath) {
      if (s.cafile) ctx.load_verify_file(*s.cafile, ec);
      if (ec) throw SetupError("cannot load CA file " + *s.cafile + ": " + reason(ec));
      if (s.capath) ctx.add_verify_path(*s.capath, ec);
      if (ec) throw SetupError("cannot use CA directory " + *s.capath + ": " + reason(ec));
    } else {
      ctx.set_default_verify_paths(ec);
      if (ec) throw SetupError("cannot load the system CA store: " + reason(ec));
    }
  }
  ctx.set_verify_mode(s.verify == Verify::require ? ssl::verify_peer : ssl::verify_none);
  if (s.certfile) {
    ctx.use_certificate_chain_file(*s.certfile, ec);
    if (ec) throw SetupError("cannot load certificate " + *s.certfile + ": " + reason(ec));
    const std::string key = s.keyfile ? *s.keyfile : *s.certfile;
    ctx.use_private_key_file(key, ssl::context::pem, ec);
    if (ec) throw SetupError("cannot load private key " + key + ": " + reason(ec));
  } else if (s.keyfile) {
    throw SetupError("a keyfile needs a certfile");
  }
  return ctx;
}

ssl::context server_context(const std::string& chain, const std::string& key, MinVersion minimum) {
  ssl::context ctx(ssl::context::tls_server);
  common_options(ctx, minimum);
  error_code ec;
  ctx.use_certificate_chain_file(chain, ec);
  if (ec) throw SetupError("cannot load certificate " + chain + ": " + reason(ec));
  ctx.use_private_key_file(key, ssl::context::pem, ec);
  if (ec) throw SetupError("cannot load private key " + key + ": " + reason(ec));
  return ctx;
}

bool is_ip_literal(std::string_view name) {
  error_code ec;
  boost::asio::ip::make_address(std::string(strip_brackets(name)), ec);
  return !ec;
}

void set_peer_name(SSL* ssl, std::string_view name_in, Verify verify, bool send_sni) {
  const std::string name(strip_brackets(name_in));
  error_code ec;
  const auto address = boost::asio::ip::make_address(name, ec);
  const bool ip = !ec;
  if (send_sni && !ip && !name.empty()) {
    // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it expands to.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
  }
  if (verify == Verify::none) return;
  if (name.empty()) throw SetupError("no host name to verify the certificate against");
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str())
                    : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (ok != 1) throw SetupError("cannot verify the name " + name);
}

}  // namespace smtp::wire::tls
