// Fuzz target: the scenario parser (smtp::scenario::parse_text) on arbitrary text. Every bad file
// must be a ScenarioError naming file and line; any other exception is a finding.
// Includes resolve against an empty private directory, and any path is fuzzed: the parser bounds
// every read by its size limit (finding: `include: /dev/zero` read without end) and refuses what
// is not a regular file (FIFOs, devices). Only /proc and /sys are kept out: some of their files
// look regular but block when read (/proc/kmsg as root), which would stall the fuzzer, not find
// a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <smtp/scenario/parser.hpp>
#include <string>
#include <string_view>

namespace {

const std::filesystem::path& base_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = std::filesystem::temp_directory_path() /
                              ("smtpkit-scenario-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.find("/proc") != std::string_view::npos || text.find("/sys") != std::string_view::npos) {
    return 0;
  }
  try {
    (void)smtp::scenario::parse_text(text, "fuzz.scn", base_dir());
  } catch (const smtp::scenario::ScenarioError&) {
  }
  return 0;
}
