#pragma once
// Internal: sink mode's AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, as a development mail
// catcher needs it: an application configured with credentials must be able to send. With no
// users configured any credentials are accepted; otherwise only the configured USER:PASSWORD
// pairs (535 5.7.8 for the rest).
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace smtp::fakeserver::detail {

class SinkAuth {
 public:
  explicit SinkAuth(const std::map<std::string, std::string>& users) : users_(users) {}
  // "AUTH <args>": the reply to send (334 for a challenge, 235, or an error).
  std::string start(std::string_view args);
  // A line while in_progress(): the client's answer to the last 334.
  std::string respond(std::string_view line);
  bool in_progress() const { return step_ != Step::none; }
  // The authenticated user (the authentication identity), once 235 was sent.
  const std::optional<std::string>& user() const { return user_; }
  // Users are configured: MAIL without AUTH is refused (530).
  bool required() const { return !users_.empty(); }

 private:
  enum class Step { none, plain, login_user, login_password };
  std::string check(const std::string& user, const std::string& password);
  std::string plain(std::string_view response);

  const std::map<std::string, std::string>& users_;
  Step step_ = Step::none;
  std::string login_user_;
  std::optional<std::string> user_;
};

// Strict base64 (RFC 4648, padding required); nullopt when `in` is not.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace smtp::fakeserver::detail
