// How the client does TLS (SMTP_SSL, starttls()): what to trust, what to present, which name to
// check. Plain data; the OpenSSL objects are built from it when a handshake starts.
//
// The default is safe: the chain is verified against the system store, the certificate must be
// for the host name the caller connected to, and that name is sent as SNI. Turning verification
// off takes an explicit, named flag (insecure_skip_verify); nothing else disables it.
#pragma once

#include <optional>
#include <string>

namespace smtp {

struct TlsContext {
  enum class version { tls1_2, tls1_3 };

  // Trust anchors. With neither set (and use_system_store), the system store is used.
  std::optional<std::string> cafile;  // PEM file of CA certificates
  std::optional<std::string> capath;  // directory of hashed CA certificates (c_rehash)
  bool use_system_store = true;       // also load OpenSSL's default verify paths

  // Client certificate, as smtplib's keyfile/certfile (PEM).
  std::optional<std::string> certfile;
  std::optional<std::string> keyfile;  // defaults to certfile when only that is given

  version minimum_version = version::tls1_2;

  // The name the certificate must match and SNI carries; empty: the host given to connect().
  // An IP literal is matched against the certificate's IP addresses and not sent as SNI.
  std::string server_hostname;
  bool send_sni = true;

  // Accept any certificate, any name. Off by default; only tests and explicit `--insecure` set it.
  bool insecure_skip_verify = false;
};

}  // namespace smtp
