#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>

#include "smtp/client.hpp"

namespace smtp {

namespace {
std::string hostname() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0) return {};
  return buf.data();
}
}  // namespace

// Python's socket.getfqdn() takes the first name containing a dot among the canonical name and
// aliases of gethostname(); smtplib then uses "[a.b.c.d]" (gethostbyname) when there is none.
std::string default_local_hostname() {
  const std::string name = hostname();
  if (!name.empty()) {
    if (name.find('.') != std::string::npos) return name;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    if (getaddrinfo(name.c_str(), nullptr, &hints, &res) == 0) {
      std::string canon = res && res->ai_canonname ? res->ai_canonname : "";
      freeaddrinfo(res);
      if (canon.find('.') != std::string::npos) return canon;
    }
  }
  std::string addr = "127.0.0.1";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* res = nullptr;
  if (!name.empty() && getaddrinfo(name.c_str(), nullptr, &hints, &res) == 0) {
    if (res && res->ai_addr) {
      std::array<char, NI_MAXHOST> host{};
      if (getnameinfo(res->ai_addr, res->ai_addrlen, host.data(), host.size(), nullptr, 0,
                      NI_NUMERICHOST) == 0) {
        addr = host.data();
      }
    }
    freeaddrinfo(res);
  }
  return "[" + addr + "]";
}

}  // namespace smtp
