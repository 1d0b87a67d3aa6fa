#pragma once
// The one parser of scenario files. Every error names the file and line, and what was expected.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "smtp/scenario/model.hpp"

namespace smtp::scenario {

class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(Location where, const std::string& message)
      : std::runtime_error(where.str() + ": " + message),
        where_(std::move(where)),
        message_(message) {}
  const Location& where() const { return where_; }
  const std::string& message() const { return message_; }

 private:
  Location where_;
  std::string message_;
};

struct ParserLimits {
  static constexpr int max_include_depth = 8;             // includes nest at most this deep
  static constexpr std::size_t max_file_bytes = 4 << 20;  // a scenario is text a person reads
  static constexpr long max_duration_ms = 3600 * 1000;    // sleep/drip above an hour is a typo
  static constexpr std::size_t max_many_messages = 32;    // sendmail_many: messages in one call
};

// Reads and parses a scenario file; includes are resolved relative to the including file.
Scenario parse_file(const std::filesystem::path& path);

// Parses text as if it were the file `file_name`; includes are resolved against `base_dir`.
Scenario parse_text(std::string_view text, const std::string& file_name,
                    const std::filesystem::path& base_dir = std::filesystem::current_path());

// The exception names a client outcome may use (the seed's vocabulary plus OS-level errors).
bool is_known_exception(std::string_view name);

}  // namespace smtp::scenario
