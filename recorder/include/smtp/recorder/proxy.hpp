#pragma once
// The recording proxy: accepts clients on loopback, connects each to the upstream server,
// forwards both ways and feeds a SessionBuilder with what it forwards. TLS is terminated on both
// sides (implicit TLS, or STARTTLS when the upstream answers 220), so the exchange inside TLS is
// what gets recorded.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "smtp/recorder/session_builder.hpp"

namespace smtp::recorder {

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 0;
  std::string upstream_host;  // with upstream_port, or
  unsigned short upstream_port = 0;
  std::string upstream_unix;  // a Unix socket path
  bool implicit_tls = false;  // TLS toward the client and the upstream from the first byte
  std::string cert, key;      // the certificate shown to the client (STARTTLS, implicit TLS)
  std::string upstream_cafile;
  bool upstream_insecure = false;  // no verification of the upstream's certificate
  // When a side has closed, how long the other may take to close too.
  std::chrono::milliseconds linger{3000};
  // A session with no bytes either way this long is ended (and recorded as it stands).
  std::chrono::milliseconds idle_timeout{60000};
  BuilderOptions builder;
};

struct SessionResult {
  int index = 0;
  std::string peer;
  Recording recording;
};

class Proxy {
 public:
  using Handler = std::function<void(SessionResult)>;
  // Throws std::runtime_error when it cannot listen or a certificate cannot be loaded.
  Proxy(boost::asio::io_context& io, ProxyOptions options, Handler on_session);
  ~Proxy();
  boost::asio::ip::tcp::endpoint bound() const;
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace smtp::recorder
