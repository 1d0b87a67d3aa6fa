// TLS over a Transport: implicit TLS (SMTP_SSL) and the upgrade after STARTTLS.
#pragma once

#include <memory>
#include <string>

#include "smtp/tls_context.hpp"
#include "smtp/transport.hpp"

namespace smtp {

// Takes over the connected socket of `plain` and performs the client handshake before the
// deadline, verifying as `tls` says; the certificate must match tls.server_hostname, or else
// `connected_host` (the name the caller connected to, never a name the server announced).
// Throws SSLCertVerificationError when the certificate does not verify, SSLError for any other
// handshake failure (the connection is closed either way), SMTPTimeoutError at the deadline.
std::unique_ptr<Transport> start_tls(std::unique_ptr<Transport> plain, const TlsContext& tls,
                                     const std::string& connected_host, Deadline deadline);

// connect_tcp() then start_tls(): SMTP_SSL's connection.
std::unique_ptr<Transport> connect_tls(const std::string& host, int port, const TlsContext& tls,
                                       Deadline deadline);

}  // namespace smtp
