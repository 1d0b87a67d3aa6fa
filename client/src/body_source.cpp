#include "smtp/body_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace smtp {

std::size_t StringBody::read(std::span<char> buffer) {
  const std::size_t n = std::min(buffer.size(), bytes_.size() - pos_);
  if (n > 0) std::memcpy(buffer.data(), bytes_.data() + pos_, n);
  pos_ += n;
  return n;
}

std::size_t StreamBody::read(std::span<char> buffer) {
  if (buffer.empty() || in_->eof()) return 0;
  in_->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  const auto n = static_cast<std::size_t>(in_->gcount());
  if (in_->bad()) {
    throw std::runtime_error("error reading the message stream at offset " +
                             std::to_string(offset_ + n));
  }
  offset_ += n;
  return n;
}

FileBody::FileBody(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const std::error_code ec(errno, std::generic_category());
    throw BodyFileError("cannot open " + path.string() + ": " + ec.message(), ec);
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
    // open(2) takes a directory; its read(2) would fail only once the session has begun.
    ::close(fd_);
    fd_ = -1;
    throw BodyFileError(path.string() + " is a directory, not a message file",
                        std::make_error_code(std::errc::is_a_directory));
  }
  if (S_ISREG(st.st_mode)) {
    size_ = static_cast<std::uint64_t>(st.st_size);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
}

FileBody::~FileBody() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t FileBody::read(std::span<char> buffer) {
  for (;;) {
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) {
      const auto got = static_cast<std::size_t>(n);
      if (size_) *size_ -= std::min<std::uint64_t>(*size_, got);
      return got;
    }
    if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "cannot read " + path_.string());
    }
  }
}

std::size_t CallbackBody::read(std::span<char> buffer) {
  const std::size_t n = fn_(buffer);
  if (n > buffer.size()) throw std::length_error("body callback returned more than it was given");
  if (size_) *size_ -= std::min<std::uint64_t>(*size_, n);
  return n;
}

}  // namespace smtp
