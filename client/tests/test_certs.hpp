// Certificates made at test time with OpenSSL's C API (nothing secret is committed): a throwaway
// CA, a good server certificate for localhost/127.0.0.1, one for another name, an expired one
// and a self-signed one, written as PEM files into a fresh temporary directory.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace smtp::test {

struct CertFiles {
  std::string cert;
  std::string key;
};

class TestCerts {
 public:
  TestCerts() {
    char tmpl[] = "/tmp/smtpkit-tls-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    ca_key_ = new_key();
    ca_ = make_cert("smtpkit throwaway test CA", "", ca_key_, nullptr, nullptr, -1, 30, true);
    ca_file = write(ca_, ca_key_, "ca").cert;
    good = leaf("good", "DNS:localhost,IP:127.0.0.1", -1, 30, false);
    wrong_name = leaf("wrongname", "DNS:mail.example.org", -1, 30, false);
    expired = leaf("expired", "DNS:localhost,IP:127.0.0.1", -10, -1, false);
    self_signed = leaf("selfsigned", "DNS:localhost,IP:127.0.0.1", -1, 30, true);
  }
  ~TestCerts() {
    X509_free(ca_);
    EVP_PKEY_free(ca_key_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  std::string ca_file;
  CertFiles good, wrong_name, expired, self_signed;

 private:
  static EVP_PKEY* new_key() { return EVP_EC_gen("P-256"); }

  static X509* make_cert(const std::string& cn, const std::string& san, EVP_PKEY* key, X509* issuer,
                         EVP_PKEY* issuer_key, long from_days, long to_days, bool is_ca) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    auto add = [&](int nid, const std::string& value) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
      if (ext == nullptr) throw std::runtime_error("bad extension " + value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    };
    add(NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (is_ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
    if (!san.empty()) add(NID_subject_alt_name, san);
    if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
      throw std::runtime_error("X509_sign failed");
    }
    return x;
  }

  CertFiles write(X509* x, EVP_PKEY* key, const std::string& stem) {
    CertFiles f{dir_ + "/" + stem + ".pem", dir_ + "/" + stem + ".key"};
    FILE* c = std::fopen(f.cert.c_str(), "w");
    PEM_write_X509(c, x);
    std::fclose(c);
    FILE* k = std::fopen(f.key.c_str(), "w");
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(k);
    return f;
  }

  CertFiles leaf(const std::string& stem, const std::string& san, long from, long to,
                 bool self_signed_cert) {
    EVP_PKEY* key = new_key();
    X509* x = self_signed_cert ? make_cert("localhost", san, key, nullptr, nullptr, from, to, false)
                               : make_cert("localhost", san, key, ca_, ca_key_, from, to, false);
    CertFiles f = write(x, key, stem);
    X509_free(x);
    EVP_PKEY_free(key);
    return f;
  }

  std::string dir_;
  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_ = nullptr;
};

}  // namespace smtp::test
