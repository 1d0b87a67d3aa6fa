// Fuzz target: the EHLO capability parser (smtplib's rules: lower-case keys, AUTH= merged).
// Properties: no crash; every key is lower case and found by has_feature in any case.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <smtp/capabilities.hpp>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const smtp::EsmtpFeatures features = smtp::parse_ehlo_features(text);
  for (const auto& [key, value] : features) {
    std::string upper = key;
    for (char& c : upper) {
      if (std::isupper(static_cast<unsigned char>(c))) std::abort();
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (!smtp::has_feature(features, key) || !smtp::has_feature(features, upper)) std::abort();
  }
  return 0;
}
