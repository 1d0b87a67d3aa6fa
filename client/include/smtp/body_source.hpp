// Where a streamed message body comes from: sendmail()/data() pull it in bounded pieces, so a
// message of any size is never held whole in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace smtp {

// A pull source of raw message bytes (before CRLF normalisation and dot-stuffing).
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Fills up to buffer.size() bytes and returns how many; 0 means the end of the message. May
  // throw (a read error): the transaction is then abandoned (see SMTP::sendmail).
  virtual std::size_t read(std::span<char> buffer) = 0;
  // Raw octets still to come when known (a file, a string); used for SIZE (RFC 1870).
  virtual std::optional<std::uint64_t> size() const { return std::nullopt; }
};

// A view of bytes held elsewhere (they must outlive the transaction).
class StringBody final : public BodySource {
 public:
  explicit StringBody(std::string_view bytes) : bytes_(bytes) {}
  std::size_t read(std::span<char> buffer) override;
  std::optional<std::uint64_t> size() const override { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// Reads an std::istream until its end; a stream that goes bad() raises std::runtime_error.
class StreamBody final : public BodySource {
 public:
  explicit StreamBody(std::istream& in) : in_(&in) {}
  std::size_t read(std::span<char> buffer) override;

 private:
  std::istream* in_;
  std::uint64_t offset_ = 0;
};

// FileBody's constructor could not take the path as a message: it does not exist, cannot be
// opened, or is a directory. A std::invalid_argument (smtplib's ValueError family), raised before
// anything is sent; code() is the system's reason (ENOENT, EACCES, EISDIR, ...).
class BodyFileError : public std::invalid_argument {
 public:
  BodyFileError(const std::string& what, std::error_code code)
      : std::invalid_argument(what), code_(code) {}
  std::error_code code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

// Reads a file with read(2) (no second buffer). The constructor opens it and throws
// BodyFileError when it cannot or when it is a directory; size() is the file's size (a FIFO or
// a device is read to its end, size unknown). A read error later is std::system_error.
class FileBody final : public BodySource {
 public:
  explicit FileBody(const std::filesystem::path& path);
  ~FileBody() override;
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  std::size_t read(std::span<char> buffer) override;
  std::optional<std::uint64_t> size() const override { return size_; }

 private:
  int fd_ = -1;
  std::optional<std::uint64_t> size_;
  std::filesystem::path path_;
};

// A callback that fills the span and returns the number of bytes written (0 = end).
class CallbackBody final : public BodySource {
 public:
  using callback = std::function<std::size_t(std::span<char>)>;
  explicit CallbackBody(callback fn, std::optional<std::uint64_t> size = std::nullopt)
      : fn_(std::move(fn)), size_(size) {}
  std::size_t read(std::span<char> buffer) override;
  std::optional<std::uint64_t> size() const override { return size_; }

 private:
  callback fn_;
  std::optional<std::uint64_t> size_;
};

}  // namespace smtp
