#include "maildir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace smtp::fakeserver::detail {

Maildir::Maildir(std::string root) : root_(std::move(root)) {
  for (const char* sub : {"tmp", "new", "cur", "envelope"}) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(root_) / sub, ec);
    if (ec) throw std::runtime_error("cannot create Maildir " + root_ + ": " + ec.message());
  }
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  host_ = buf;
  for (auto& c : host_) {
    if (c == '/' || c == ':') c = '_';
  }
}

namespace {

// Writes `bytes` to a new file `path`; false with `error` set on failure (the file removed).
bool write_new_file(const std::string& path, std::string_view bytes, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = std::string("open ") + path + ": " + std::strerror(errno);
    return false;
  }
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::string("write ") + path + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return true;
}

}  // namespace

std::string Maildir::store(std::string_view message, std::string_view envelope,
                           std::string& error) {
  // Unique per delivery (the classic time.MusecPpidQseq.host form); no fsync: this is a test
  // sink, speed matters more than surviving a power cut.
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  // The microseconds are zero-padded so that names sort in delivery order (M99876 came after
  // M100012 in a sorted listing, which read two messages of one session in the wrong order).
  std::string usec = std::to_string(us % 1000000);
  usec.insert(0, 6 - usec.size(), '0');
  std::string name = std::to_string(us / 1000000) + ".M" + usec + "P" + std::to_string(::getpid()) +
                     "Q" + std::to_string(++seq_) + "." + host_;
  std::string tmp = root_ + "/tmp/" + name;
  if (!write_new_file(tmp, message, error)) return {};
  if (!envelope.empty() &&
      !write_new_file(root_ + "/envelope/" + name + ".json", envelope, error)) {
    ::unlink(tmp.c_str());
    return {};
  }
  std::string dest = root_ + "/new/" + name;
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    error = std::string("rename into new/: ") + std::strerror(errno);
    return {};
  }
  return name;
}

}  // namespace smtp::fakeserver::detail
