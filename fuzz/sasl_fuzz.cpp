// Fuzz target: the SASL steps (smtp::sasl) fed server challenges. The input picks a mechanism,
// whether the initial response is sent, up to a few 334 challenges and a 235 text.
// Properties: no crash or exception (every problem is a step_result error); once a step fails
// every further step fails; a response is strict base64 that decodes; the challenge limit holds;
// base64 decode/encode round-trips.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <smtp/sasl/base64.hpp>
#include <smtp/sasl/factory.hpp>
#include <smtp/sasl/mechanism.hpp>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  static constexpr const char* names[] = {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2"};
  const std::string name = names[in.ConsumeIntegralInRange<std::size_t>(0, 4)];
  smtp::sasl::credentials creds;
  creds.user = in.ConsumeRandomLengthString(64);
  creds.password = in.ConsumeRandomLengthString(64);
  creds.oauth2_token = in.ConsumeRandomLengthString(64);
  const bool ir_ok = in.ConsumeBool();
  const bool raw_challenges = in.ConsumeBool();  // else: fuzz bytes base64-encoded (deeper paths)

  std::unique_ptr<smtp::sasl::mechanism> mech;
  try {
    mech = smtp::sasl::make_mechanism(name, creds, "fuzznonce0123456789");
  } catch (const std::invalid_argument&) {
    return 0;  // documented: credentials a mechanism cannot carry (e.g. NUL in PLAIN)
  }
  if (!mech) return 0;
  (void)mech->auth_command(ir_ok);

  bool failed = false;
  const int rounds = in.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < rounds; ++i) {
    std::string challenge = in.ConsumeRandomLengthString(512);
    if (!raw_challenges) challenge = smtp::sasl::base64_encode(challenge);
    const smtp::sasl::step_result r = mech->step(challenge);
    if (failed && r.ok()) std::abort();  // no recovery after an error
    if (!r.ok()) {
      failed = true;
      (void)r.error().message();
      continue;
    }
    if (!smtp::sasl::base64_decode(r.response())) std::abort();
    if (mech->challenges() > smtp::sasl::mechanism::max_challenges) std::abort();
  }
  const std::string success = in.ConsumeRemainingBytesAsString();
  if (auto err = mech->on_success(success)) (void)err->message();

  if (auto decoded = smtp::sasl::base64_decode(success)) {
    if (smtp::sasl::base64_encode(*decoded) != success) std::abort();  // strict = canonical
  }
  return 0;
}
