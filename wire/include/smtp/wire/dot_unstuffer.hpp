#pragma once
// DATA content as the server sees it (RFC 5321 section 4.5.2), fed the received bytes in chunks
// of any size (whole lines, as wire::LineBuffer gives them, or whatever arrived). A leading dot on
// a content line is removed. What ends the data is decided by an EndOfDataPolicy
// (end_of_data.hpp): by default only <CRLF>.<CRLF>. Pure: no I/O.
#include <optional>
#include <string>
#include <string_view>

#include "smtp/wire/end_of_data.hpp"

namespace smtp::wire {

class DotUnstuffer {
 public:
  explicit DotUnstuffer(EndOfDataPolicy policy = EndOfDataPolicy::rfc5321()) : policy_(policy) {}

  // Feeds the next received bytes. Returns true when the data ended (then ending() says how and
  // rest() holds the bytes of this chunk after the end: the client's next commands). Otherwise the
  // un-stuffed bytes (line ends kept, byte-exact) are in message(), except up to four bytes that
  // may still be the start of an ending and wait for the next chunk.
  bool feed(std::string_view line);

  const std::string& message() const { return message_; }
  std::string take_message() { return std::move(message_); }
  // Drops the content kept so far (a message over a size limit), keeping the framing state.
  void clear_message() { message_.clear(); }
  // Line ends (CRLF or bare LF) received before the end.
  std::size_t lines() const { return lines_; }
  std::size_t bare_lf_lines() const { return bare_lf_; }

  // After feed() returned true: the form that ended the data, and the bytes fed after it.
  DataEnding ending() const { return ending_; }
  const std::string& rest() const { return rest_; }

  // The first form other than <CRLF>.<CRLF> seen, whatever the policy did with it.
  std::optional<DataEnding> first_other_form() const { return first_other_; }
  // Set when something the policy refuses was seen: why ("bare LF line", or a form's name).
  const std::optional<std::string>& refusal() const { return refusal_; }

  const EndOfDataPolicy& policy() const { return policy_; }

 private:
  // Applies the policy to a form found in the stream; true when it ends the data.
  bool meet(DataEnding form);

  EndOfDataPolicy policy_;
  std::string message_;
  std::string rest_;
  std::size_t lines_ = 0;
  std::size_t bare_lf_ = 0;
  std::string pending_;         // undecided bytes: a CR, or a dot at a line start and what follows
  bool at_line_start_ = true;   // the next byte starts a line (the data starts after CRLF)
  bool after_bare_lf_ = false;  // the line end before it was a bare LF
  DataEnding ending_ = DataEnding::crlf_dot_crlf;
  std::optional<DataEnding> first_other_;
  std::optional<std::string> refusal_;
};

// Un-stuffs one content line: removes the transparency dot (".." -> ".").
std::string_view unstuff(std::string_view line);

}  // namespace smtp::wire
