#pragma once
// Internal: a Maildir (tmp/ then rename into new/) holding each accepted message byte-exact, and
// beside it, in envelope/NAME.json, the message's envelope (written before the message appears in
// new/, so whoever sees the message finds its envelope).
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace smtp::fakeserver::detail {

class Maildir {
 public:
  explicit Maildir(std::string root);  // creates root/{tmp,new,cur,envelope}; throws on failure
  // Writes the message (and `envelope`, when not empty, as envelope/NAME.json); returns the file
  // name in new/ (empty and sets `error` on failure).
  std::string store(std::string_view message, std::string_view envelope, std::string& error);

 private:
  std::string root_;
  std::string host_;
  std::uint64_t seq_ = 0;
};

}  // namespace smtp::fakeserver::detail
