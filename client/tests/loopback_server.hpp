// A one-connection scripted server thread for loopback tests (real sockets, port 0 or a temporary
// Unix socket path), and blocking line helpers for its scripts.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace smtp::test {

namespace asio = boost::asio;
using asio::ip::tcp;

template <class Socket>
std::string read_line(Socket& s, std::string& buf) {
  for (;;) {
    const std::size_t nl = buf.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf.substr(0, nl + 1);
      buf.erase(0, nl + 1);
      return line;
    }
    char tmp[4096];
    boost::system::error_code ec;
    const std::size_t n = s.read_some(asio::buffer(tmp), ec);
    if (ec) return {};
    buf.append(tmp, n);
  }
}

template <class Socket>
std::string read_until_dot(Socket& s, std::string& buf) {
  std::string body;
  for (;;) {
    const std::string line = read_line(s, buf);
    if (line.empty() || line == ".\r\n") return body;
    body += line;
  }
}

template <class Socket>
void send(Socket& s, std::string_view bytes) {
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes.data(), bytes.size()), ec);
}

// Accepts one connection and runs the script on it in a thread; joined by the destructor.
template <class Protocol>
class OneShotServer {
 public:
  using socket_type = typename Protocol::socket;
  OneShotServer(typename Protocol::endpoint ep, std::function<void(socket_type&)> script)
      : acceptor_(ioc_, ep) {
    thread_ = std::thread([this, script = std::move(script)] {
      socket_type s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec) return;
      script(s);
    });
  }
  ~OneShotServer() {
    boost::system::error_code ec;
    if (thread_.joinable()) thread_.join();
    acceptor_.close(ec);
  }
  typename Protocol::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::io_context ioc_;
  typename Protocol::acceptor acceptor_;
  std::thread thread_;
};

using TcpServer = OneShotServer<tcp>;
inline tcp::endpoint any_loopback() {
  return {asio::ip::make_address("127.0.0.1"), 0};
}

}  // namespace smtp::test
