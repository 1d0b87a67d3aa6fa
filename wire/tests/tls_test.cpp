// The one TLS policy (wire/tls.hpp): version floor, SNI, the name check, and errors that name the
// file. Real handshakes with certificates made at test time run in the players' suites
// (client/tests/tls_loopback_test.cpp, the fake server's and the probe's TLS tests).
#include "smtp/wire/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <memory>

namespace tls = smtp::wire::tls;

namespace {

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

std::string sni_of(SSL* ssl) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

tls::ClientSettings with(tls::Verify verify) {
  tls::ClientSettings s;
  s.verify = verify;
  return s;
}

}  // namespace

TEST(Tls, BothRolesRefuseBelowTls12) {
  auto client = tls::client_context(with(tls::Verify::none));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(client.native_handle()), TLS1_2_VERSION);
  auto settings = with(tls::Verify::none);
  settings.minimum = tls::MinVersion::tls1_3;
  auto strict = tls::client_context(settings);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(strict.native_handle()), TLS1_3_VERSION);
}

TEST(Tls, RequireVerifiesThePeerRecordOnlyDoesNot) {
  auto require = tls::client_context(tls::ClientSettings{});
  EXPECT_EQ(SSL_CTX_get_verify_mode(require.native_handle()), SSL_VERIFY_PEER);
  auto record = tls::client_context(with(tls::Verify::record_only));
  EXPECT_EQ(SSL_CTX_get_verify_mode(record.native_handle()), SSL_VERIFY_NONE);
}

TEST(Tls, SniCarriesAHostNameNeverAnIpLiteral) {
  auto ctx = tls::client_context(with(tls::Verify::record_only));
  for (const char* ip : {"127.0.0.1", "::1", "[::1]"}) {
    SslPtr ssl(SSL_new(ctx.native_handle()));
    tls::set_peer_name(ssl.get(), ip, tls::Verify::record_only);
    EXPECT_EQ(sni_of(ssl.get()), "") << ip;
    EXPECT_TRUE(tls::is_ip_literal(ip));
  }
  SslPtr ssl(SSL_new(ctx.native_handle()));
  tls::set_peer_name(ssl.get(), "mx.example.org", tls::Verify::record_only);
  EXPECT_EQ(sni_of(ssl.get()), "mx.example.org");
  EXPECT_FALSE(tls::is_ip_literal("mx.example.org"));
  SslPtr quiet(SSL_new(ctx.native_handle()));
  tls::set_peer_name(quiet.get(), "mx.example.org", tls::Verify::record_only, false);
  EXPECT_EQ(sni_of(quiet.get()), "");
}

TEST(Tls, TheNameCheckForbidsPartialWildcards) {
  auto ctx = tls::client_context(with(tls::Verify::record_only));
  SslPtr ssl(SSL_new(ctx.native_handle()));
  tls::set_peer_name(ssl.get(), "mx.example.org", tls::Verify::require);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  EXPECT_TRUE(X509_VERIFY_PARAM_get_hostflags(param) & X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  EXPECT_STREQ(X509_VERIFY_PARAM_get0_host(param, 0), "mx.example.org");
}

TEST(Tls, ACheckNeedsAName) {
  auto ctx = tls::client_context(with(tls::Verify::record_only));
  SslPtr ssl(SSL_new(ctx.native_handle()));
  EXPECT_THROW(tls::set_peer_name(ssl.get(), "", tls::Verify::require), tls::SetupError);
  EXPECT_NO_THROW(tls::set_peer_name(ssl.get(), "", tls::Verify::none));
}

TEST(Tls, MissingFilesAreNamed) {
  try {
    auto s = with(tls::Verify::require);
    s.cafile = "/nonexistent/ca.pem";
    tls::client_context(s);
    FAIL() << "no error";
  } catch (const tls::SetupError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.pem"), std::string::npos) << e.what();
  }
  try {
    tls::server_context("/nonexistent/cert.pem", "/nonexistent/key.pem");
    FAIL() << "no error";
  } catch (const tls::SetupError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos) << e.what();
  }
  auto key_only = with(tls::Verify::none);
  key_only.keyfile = "k.pem";
  EXPECT_THROW(tls::client_context(key_only), tls::SetupError);
}
