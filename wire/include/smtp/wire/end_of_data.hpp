#pragma once
// What ends DATA content, defined once for every player (RFC 5321 section 4.1.1.4).
//
// Only <CRLF>.<CRLF> ends the data. Every other byte sequence that some receiver has taken for the
// end is named here: the bare-LF, bare-CR and NUL forms behind "SMTP smuggling" (a message whose
// body holds a second transaction that one server ends early and another does not). A player
// decides what each form means through an EndOfDataPolicy; the default is RFC 5321's (content),
// and a fake server may be told to behave like a vulnerable or a refusing server instead.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace smtp::wire {

enum class DataEnding : std::uint8_t {
  crlf_dot_crlf,      // <CRLF>.<CRLF>: the end of data, and the only one RFC 5321 defines
  lf_dot_lf,          // <LF>.<LF>
  crlf_dot_lf,        // <CRLF>.<LF>
  lf_dot_crlf,        // <LF>.<CRLF>
  cr_dot_cr,          // <CR>.<CR> (followed by anything: when it ends the data, an LF after
                      // it is the next command's; else, followed by LF, it is cr_dot_crlf)
  crlf_dot_cr,        // <CRLF>.<CR> (not followed by LF)
  cr_dot_crlf,        // <CR>.<CRLF>
  crlf_dot_nul_crlf,  // <CRLF>.<NUL><CRLF>
};
inline constexpr std::size_t data_ending_count = 8;

struct DataEndingForm {
  DataEnding ending;
  std::string_view name;   // "lf-dot-lf": used in reports, scenario headers and tests
  std::string_view bytes;  // the sequence on the wire, including the line end before the dot
};

// Every form, in the enum's order.
std::span<const DataEndingForm> data_ending_forms();
std::string_view name_of(DataEnding ending);
std::optional<DataEnding> data_ending_named(std::string_view name);

enum class EndingAction : std::uint8_t {
  content,    // the bytes are message content (un-stuffed as any line); the data goes on
  ends_data,  // the form ends the data as <CRLF>.<CRLF> does: what follows is the next command
  refuse,     // content, and the message is refused once the real end arrives
};
std::string_view name_of(EndingAction action);
std::optional<EndingAction> ending_action_named(std::string_view name);

class EndOfDataPolicy {
 public:
  // RFC 5321: only <CRLF>.<CRLF> ends the data; every other form, and any bare LF, is content.
  static EndOfDataPolicy rfc5321() { return EndOfDataPolicy{}; }

  EndingAction action(DataEnding ending) const {
    return actions_[static_cast<std::size_t>(ending)];
  }
  // <CRLF>.<CRLF> always ends the data: setting it is ignored.
  EndOfDataPolicy& set(DataEnding ending, EndingAction action);

  // A content line ending in a bare LF (not one of the forms): kept (content) or the message is
  // refused (refuse), as Postfix's smtpd_forbid_bare_newline = reject does. ends_data means
  // content.
  EndingAction bare_lf_line = EndingAction::content;

  bool is_rfc5321() const;

 private:
  std::array<EndingAction, data_ending_count> actions_{
      EndingAction::ends_data, EndingAction::content, EndingAction::content, EndingAction::content,
      EndingAction::content,   EndingAction::content, EndingAction::content, EndingAction::content};
};

}  // namespace smtp::wire
