#include "smtp/scenario/parser.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "smtp/scenario/escape.hpp"
#include "smtp/scenario/limits.hpp"
#include "smtp/scenario/transport.hpp"

namespace smtp::scenario {
namespace fs = std::filesystem;

namespace {

constexpr std::array known_exceptions = {
    // The seed's names (smtplib's), then the OS-level errors a client run can end with.
    "SMTPException",
    "SMTPNotSupportedError",
    "SMTPServerDisconnected",
    "SMTPResponseException",
    "SMTPSenderRefused",
    "SMTPRecipientsRefused",
    "SMTPDataError",
    "SMTPConnectError",
    "SMTPHeloError",
    "SMTPAuthenticationError",
    "SMTPMessageTooLarge",
    "TimeoutError",
    "OSError",
    "ConnectionError",
    "SSLError",
    "SSLCertVerificationError",
    "SMTPPartialDelivery",
    "SMTPProtocolError",
    // Not a class: any SMTPServerDisconnected whose delivery_unknown() is set (the message was
    // sent in full and may or may not have been delivered; client/README.md, "Delivery").
    "DeliveryUnknown",
};

struct CallSpec {
  const char* name;
  std::size_t min_args;
  std::size_t max_args;
  std::vector<std::string> kwargs;
  bool needs_message;
};

const std::vector<CallSpec>& call_specs() {
  static const std::vector<CallSpec> specs = {
      {"ehlo", 0, 1, {}, false},
      {"helo", 0, 1, {}, false},
      {"ehlo_or_helo_if_needed", 0, 0, {}, false},
      {"starttls", 0, 0, {}, false},
      {"login", 2, 2, {"initial_response_ok"}, false},
      {"login_oauth2", 2, 2, {"initial_response_ok"}, false},
      {"sendmail", 2, 2, {"mail_options", "rcpt_options"}, true},
      // Pairs FROM TO[,TO...], one per message (checked in client_call).
      {"sendmail_many",
       2,
       2 * ParserLimits::max_many_messages,
       {"mail_options", "rcpt_options"},
       true},
      {"send_message", 0, 0, {"from_addr", "to_addrs", "mail_options", "rcpt_options"}, true},
      {"verify", 1, 1, {}, false},
      {"expn", 1, 1, {}, false},
      {"noop", 0, 0, {}, false},
      {"rset", 0, 0, {}, false},
      {"help", 0, 1, {}, false},
      {"mail", 1, 1, {"options"}, false},
      {"rcpt", 1, 1, {"options"}, false},
      {"data", 0, 0, {}, true},
      {"docmd", 1, 2, {}, false},
      {"has_extn", 1, 1, {}, false},
      {"quit", 0, 0, {}, false},
      {"close", 0, 0, {}, false},
  };
  return specs;
}

const std::set<std::string>& option_names() {
  static const std::set<std::string> names = {"timeout",        "local_hostname", "debuglevel",
                                              "source_address", "require_tls",    "pipelining",
                                              "chunking",       "chunk_size"};
  return names;
}

constexpr const char* default_message = "Subject: scenario\r\n\r\nHello from the scenario.\r\n";

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_words(std::string_view s, bool commas_too) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || (commas_too && c == ',')) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::optional<long> parse_int(std::string_view s) {
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// "250ms", "2s", "1.5s"
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  double scale = 0;
  if (s.ends_with("ms")) {
    scale = 1;
    s.remove_suffix(2);
  } else if (s.ends_with("s")) {
    scale = 1000;
    s.remove_suffix(1);
  } else {
    return std::nullopt;
  }
  if (s.empty() || s.find_first_not_of("0123456789.") != std::string_view::npos ||
      std::count(s.begin(), s.end(), '.') > 1 || s.front() == '.' || s.back() == '.') {
    return std::nullopt;
  }
  double v = std::stod(std::string(s)) * scale;
  if (v > static_cast<double>(ParserLimits::max_duration_ms)) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long>(v));
}

bool is_terminal(Step::Kind k) {
  return k == Step::Kind::close || k == Step::Kind::reset || k == Step::Kind::tls_fail ||
         k == Step::Kind::expect_close || k == Step::Kind::expect_tls_reject;
}

class Parser {
 public:
  Scenario run(std::string_view text, const std::string& file, const fs::path& base_dir) {
    scenario_.file = file;
    parse_lines(text, file, base_dir, 0, true);
    finish();
    return std::move(scenario_);
  }

 private:
  [[noreturn]] void fail(const Location& where, const std::string& message) {
    throw ScenarioError(where, message);
  }

  void parse_lines(std::string_view text, const std::string& file, const fs::path& base_dir,
                   int depth, bool top) {
    int line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      std::string_view raw = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++line_no;
      if (raw.ends_with('\r')) raw.remove_suffix(1);
      // Trailing blanks are invisible in a review: they never count (write \x20 if meant).
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
      std::size_t indent = raw.find_first_not_of(" \t");
      if (indent == std::string_view::npos) continue;
      std::string_view line = raw.substr(indent);
      if (line.front() == '#') continue;
      parse_line(line, Location{file, line_no}, base_dir, depth, top);
    }
  }

  void parse_line(std::string_view line, const Location& where, const fs::path& base_dir, int depth,
                  bool top) {
    // Transcript lines: "S: ", "C: ", "D: ", raw "S+ ", "C+ ".
    if (line.size() >= 2 && (line[1] == ':' || line[1] == '+') &&
        (line.size() == 2 || line[2] == ' ') &&
        (line[0] == 'S' || line[0] == 'C' || line[0] == 'D')) {
      std::string_view body = line.size() > 3 ? line.substr(3) : std::string_view{};
      transcript_line(line[0], line[1] == '+', body, where, line);
      return;
    }
    // "key: value" lines (header, client section, include).
    std::size_t word_end = line.find_first_of(" \t:");
    std::string word(line.substr(0, word_end));
    if (word_end != std::string_view::npos && line[word_end] == ':') {
      std::string value = trim(line.substr(word_end + 1));
      if (word == "include") {
        include(value, where, base_dir, depth);
        return;
      }
      if (!top)
        fail(where, "'" + word + ":' is only allowed in a scenario, not in an included part");
      if (script_started_) {
        fail(where, "'" + word + ":' must come before the script (which starts at " +
                        first_script_.str() + ")");
      }
      key_value(word, value, where);
      return;
    }
    std::string rest = word_end == std::string_view::npos ? "" : trim(line.substr(word_end));
    action(word, rest, where, line);
  }

  void begin_script(const Location& where) {
    if (!script_started_) {
      script_started_ = true;
      first_script_ = where;
    }
  }

  void push(Step step) {
    if (!scenario_.steps.empty() && is_terminal(scenario_.steps.back().kind)) {
      fail(step.where, "nothing may follow '" + scenario_.steps.back().text + "' at " +
                           scenario_.steps.back().where.str() + ": the session ends there");
    }
    scenario_.steps.push_back(std::move(step));
  }

  void transcript_line(char side, bool raw, std::string_view body, const Location& where,
                       std::string_view line) {
    begin_script(where);
    std::string error;
    if (side == 'D') {
      if (raw) fail(where, "'D+' does not exist: message lines are 'D: text'");
      if (scenario_.steps.empty() || !last_was_data_ ||
          (scenario_.steps.back().kind != Step::Kind::data &&
           scenario_.steps.back().kind != Step::Kind::data_lines &&
           scenario_.steps.back().kind != Step::Kind::bdat)) {
        fail(where, "'D:' lines must directly follow a 'data', 'data-lines' or 'bdat' action");
      }
      auto p = LinePattern::parse(body, false, error);
      if (!p) fail(where, error);
      Step& data = scenario_.steps.back();
      if (data.kind == Step::Kind::data_lines && data.content.size() >= data.count) {
        fail(where, "more 'D:' lines than the " + std::to_string(data.count) +
                        " announced by 'data-lines' at " + data.where.str());
      }
      data.content.push_back(std::move(*p));
      data.content_where.push_back(where);
      return;
    }
    last_was_data_ = false;
    Step s;
    s.where = where;
    s.text = std::string(line);
    if (raw) {
      s.kind = side == 'S' ? Step::Kind::server_raw : Step::Kind::client_raw;
      if (!unescape(body, s.bytes, error)) fail(where, error);
      if (s.bytes.empty()) fail(where, "a raw line needs at least one byte");
    } else {
      s.kind = side == 'S' ? Step::Kind::server_line : Step::Kind::client_line;
      s.pattern = LinePattern::parse(body, side == 'S', error, side == 'C');
      if (!s.pattern) fail(where, error);
    }
    push(std::move(s));
  }

  void action(const std::string& word, const std::string& rest, const Location& where,
              std::string_view line) {
    begin_script(where);
    Step s;
    s.where = where;
    s.text = std::string(line);
    auto args = split_words(rest, false);
    auto no_args = [&] {
      if (!args.empty()) fail(where, "'" + word + "' takes no argument, got '" + rest + "'");
    };
    last_was_data_ = false;
    if (word == "data") {
      s.kind = Step::Kind::data;
      if (!args.empty() && !(args.size() == 1 && args[0] == "capture")) {
        fail(where, "expected 'data' or 'data capture', got 'data " + rest + "'");
      }
      s.capture = !args.empty();
      last_was_data_ = true;
    } else if (word == "data-lines") {
      s.kind = Step::Kind::data_lines;
      auto n = args.size() == 1 ? parse_int(args[0]) : std::nullopt;
      if (!n || *n <= 0) fail(where, "expected 'data-lines N' with N > 0 message lines");
      s.count = static_cast<std::size_t>(*n);
      last_was_data_ = true;
    } else if (word == "flush") {
      no_args();
      s.kind = Step::Kind::flush;
    } else if (word == "sleep") {
      // `sleep D quiet`: the peer must send nothing during the pause (the probe uses it to see
      // that a server did not take a bare-LF dot for the end of data).
      const bool quiet = args.size() == 2 && args[1] == "quiet";
      auto d = args.size() == 1 || quiet ? parse_duration(args[0]) : std::nullopt;
      if (!d)
        fail(where,
             "expected 'sleep DURATION [quiet]' like 'sleep 500ms' or 'sleep 2s' (at most 1h)");
      s.kind = Step::Kind::sleep;
      s.duration = *d;
      if (quiet) s.mode = "quiet";
    } else if (word == "drip") {
      auto d = !args.empty() && args.size() <= 2 ? parse_duration(args[0]) : std::nullopt;
      if (!d) fail(where, "expected 'drip DELAY [BYTES]' like 'drip 50ms' or 'drip 10ms 4'");
      s.kind = Step::Kind::drip;
      s.duration = *d;
      s.count = 1;
      if (args.size() == 2) {
        auto n = parse_int(args[1]);
        if (!n || *n <= 0)
          fail(where, "drip: BYTES must be a positive number, got '" + args[1] + "'");
        s.count = static_cast<std::size_t>(*n);
      }
    } else if (word == "starttls") {
      no_args();
      s.kind = Step::Kind::starttls;
    } else if (word == "tls-fail") {
      s.kind = Step::Kind::tls_fail;
      s.mode = args.empty() ? "alert" : args[0];
      if (args.size() > 1 || (s.mode != "alert" && s.mode != "close" && s.mode != "garbage")) {
        fail(where, "expected 'tls-fail [alert|close|garbage]'");
      }
    } else if (word == "close") {
      no_args();
      s.kind = Step::Kind::close;
    } else if (word == "reset") {
      no_args();
      s.kind = Step::Kind::reset;
    } else if (word == "expect-close") {
      no_args();
      s.kind = Step::Kind::expect_close;
    } else if (word == "expect-tls-reject") {
      no_args();
      s.kind = Step::Kind::expect_tls_reject;
    } else if (word == "bdat") {
      // `bdat [SIZE|*] [last|more|*] [capture]`: one BDAT command and its chunk.
      s.kind = Step::Kind::bdat;
      bool size_seen = false;
      bool mode_seen = false;
      for (const auto& a : args) {
        if (a == "capture" && !s.capture) {
          s.capture = true;
        } else if ((a == "last" || a == "more") && !mode_seen) {
          s.mode = a;
          mode_seen = true;
        } else if (a == "*" && !size_seen) {
          size_seen = true;
        } else if (a == "*" && !mode_seen) {
          mode_seen = true;
        } else if (!a.empty() && a.find_first_not_of("0123456789") == std::string::npos &&
                   !size_seen && !mode_seen) {
          auto n = parse_int(a);
          if (!n) fail(where, "bdat: chunk size '" + a + "' is out of range");
          s.size = static_cast<std::size_t>(*n);
          size_seen = true;
        } else {
          fail(where, "expected 'bdat [SIZE|*] [last|more|*] [capture]', got 'bdat " + rest + "'");
        }
      }
      last_was_data_ = true;
    } else {
      fail(where,
           "expected a transcript line (S:, C:, D:, S+, C+), an action (data, data-lines, "
           "flush, sleep, drip, starttls, tls-fail, close, reset, expect-close, bdat, "
           "expect-tls-reject) or a "
           "'key: value' line; got '" +
               std::string(line) + "'");
    }
    push(std::move(s));
  }

  void include(const std::string& value, const Location& where, const fs::path& base_dir,
               int depth) {
    begin_script(where);
    last_was_data_ = false;
    if (value.empty()) fail(where, "expected 'include: PATH' (relative to this file)");
    if (depth + 1 > ParserLimits::max_include_depth) {
      fail(where, "includes nest deeper than " + std::to_string(ParserLimits::max_include_depth));
    }
    fs::path path = base_dir / value;
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(path, ec);
    if (std::find(include_stack_.begin(), include_stack_.end(), canon) != include_stack_.end()) {
      fail(where, "include cycle: '" + value + "' is already being included");
    }
    // A FIFO or a device (/dev/zero, /proc/kmsg) could block or never end: only regular files.
    std::error_code sec;
    const auto status = fs::status(path, sec);
    if (!sec && status.type() != fs::file_type::regular) {
      fail(where, "include: '" + value + "' is not a regular file");
    }
    std::string text = read(path, where);
    include_stack_.push_back(canon);
    parse_lines(text, path.lexically_normal().string(), path.parent_path(), depth + 1, false);
    include_stack_.pop_back();
  }

 public:
  std::string read(const fs::path& path, const Location& where) {
    std::error_code ec;
    // The file itself (line 0) is named by `where`; an include names it in the message.
    const std::string what = where.line ? "'" + path.string() + "' " : "";
    if (fs::is_directory(path, ec)) {
      fail(where, what + "is a directory, not a scenario file (give the files in it: " +
                      path.string() + "/*.scn)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      const bool missing = !fs::exists(path, ec);
      fail(where,
           (where.line ? "cannot open '" + path.string() + "'" : std::string("cannot open")) +
               (missing ? ": no such file" : ""));
    }
    // Read at most one byte past the limit: a device or endless file (include: /dev/zero) must
    // stop here, not after memory runs out.
    std::string text(ParserLimits::max_file_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > ParserLimits::max_file_bytes) {
      fail(where, "'" + path.string() + "' is larger than " +
                      std::to_string(ParserLimits::max_file_bytes) + " bytes");
    }
    return text;
  }
  void set_top(const fs::path& canon) { include_stack_.push_back(canon); }

 private:
  void once(const std::string& key, const Location& where) {
    auto [it, inserted] = seen_.emplace(key, where);
    if (!inserted) fail(where, "'" + key + ":' given twice (first at " + it->second.str() + ")");
  }

  void key_value(const std::string& key, const std::string& value, const Location& where) {
    auto need_value = [&] {
      if (value.empty()) fail(where, "'" + key + ":' needs a value");
    };
    if (key == "name") {
      once(key, where);
      need_value();
      scenario_.name = value;
    } else if (key == "description") {
      once(key, where);
      need_value();
      scenario_.description = value;
    } else if (key == "tags") {
      once(key, where);
      scenario_.tags = split_words(value, true);
    } else if (key == "protocol") {
      once(key, where);
      if (value == "smtp") {
        scenario_.protocol = Protocol::smtp;
      } else if (value == "lmtp") {
        scenario_.protocol = Protocol::lmtp;
      } else {
        fail(where, "expected 'protocol: smtp' or 'protocol: lmtp', got '" + value + "'");
      }
    } else if (key == "transports") {
      once(key, where);
      transports_where_ = where;
      for (const auto& w : split_words(value, true)) {
        auto t = transport_from_string(w);
        if (!t) fail(where, "unknown transport '" + w + "' (expected plain, starttls, tls, unix)");
        if (scenario_.declares(*t)) fail(where, "transport '" + w + "' listed twice");
        scenario_.transports.push_back(*t);
      }
      if (scenario_.transports.empty()) fail(where, "'transports:' needs at least one transport");
    } else if (key == "clients") {
      once(key, where);
      clients_where_ = where;
      for (const auto& c : split_words(value, true)) {
        const auto& known = known_clients();
        if (std::find(known.begin(), known.end(), c) == known.end()) {
          fail(where, "unknown client '" + c + "' (expected cpp, cpp-async, smtplib)");
        }
        if (std::find(scenario_.clients.begin(), scenario_.clients.end(), c) !=
            scenario_.clients.end()) {
          fail(where, "client '" + c + "' listed twice");
        }
        scenario_.clients.push_back(c);
      }
      if (scenario_.clients.empty()) fail(where, "'clients:' needs at least one client");
    } else if (key == "note-clients") {
      once(key, where);
      need_value();
      clients_note_where_ = where;
      scenario_.clients_note = value;
    } else if (key == "server-cert") {
      once(key, where);
      const auto& known = known_server_certs();
      if (std::find(known.begin(), known.end(), value) == known.end()) {
        fail(where,
             "expected 'server-cert: good|wrong-name|expired|self-signed|untrusted-ca', got '" +
                 value + "'");
      }
      server_cert_where_ = where;
      scenario_.server_cert = value;
    } else if (key == "max-line") {
      once(key, where);
      std::size_t n = 0;
      const bool digits = !value.empty() && value.size() <= 9 &&
                          value.find_first_not_of("0123456789") == std::string::npos;
      if (digits) n = std::stoul(value);
      if (!digits || n < 3 || n > PeerLimits::max_line_ceiling) {
        fail(where, "expected 'max-line: BYTES' from 3 to " +
                        std::to_string(PeerLimits::max_line_ceiling) + ", got '" + value + "'");
      }
      scenario_.max_line = n;
    } else if (key == "client") {
      client_call(value, where);
    } else if (key == "option") {
      auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0) fail(where, "expected 'option: NAME=VALUE'");
      std::string name = value.substr(0, eq);
      if (!option_names().contains(name)) {
        fail(where, "unknown client option '" + name +
                        "' (expected timeout, local_hostname, debuglevel, source_address, "
                        "require_tls, pipelining, chunking, chunk_size)");
      }
      if (scenario_.client.options.contains(name)) fail(where, "option '" + name + "' given twice");
      scenario_.client.options[name] = value.substr(eq + 1);
    } else if (key == "message") {
      std::string bytes, error;
      if (!unescape(value, bytes, error)) fail(where, error);
      if (!message_) message_.emplace();
      *message_ += bytes;
      *message_ += "\r\n";
      if (!message_where_.line) message_where_ = where;
    } else if (key == "expect") {
      once(key, where);
      scenario_.client.expect = outcome(value, where);
    } else if (key == "expect-smtplib") {
      once(key, where);
      scenario_.client.expect_smtplib = outcome(value, where);
    } else if (key == "note-smtplib") {
      once(key, where);
      need_value();
      note_where_ = where;
      scenario_.client.smtplib_note = value;
    } else {
      fail(where, "unknown key '" + key +
                      ":' (expected name, description, tags, protocol, "
                      "transports, clients, note-clients, server-cert, max-line, client, option, "
                      "message, "
                      "expect, expect-smtplib, note-smtplib, include)");
    }
  }

  void client_call(const std::string& value, const Location& where) {
    auto words = split_words(value, false);
    if (words.empty())
      fail(where, "expected 'client: METHOD ARGS...' (e.g. 'client: sendmail FROM TO')");
    const CallSpec* spec = nullptr;
    for (const auto& s : call_specs()) {
      if (words[0] == s.name) spec = &s;
    }
    if (!spec) {
      std::string names;
      for (const auto& s : call_specs()) names += std::string(names.empty() ? "" : ", ") + s.name;
      fail(where, "unknown client method '" + words[0] + "' (expected one of " + names + ")");
    }
    ClientCall call;
    call.name = words[0];
    call.where = where;
    for (std::size_t i = 1; i < words.size(); ++i) {
      auto eq = words[i].find('=');
      std::string key = eq == std::string::npos ? "" : words[i].substr(0, eq);
      if (!key.empty() &&
          std::find(spec->kwargs.begin(), spec->kwargs.end(), key) != spec->kwargs.end()) {
        call.kwargs[key] = words[i].substr(eq + 1);
      } else {
        std::string bytes, error;
        if (!unescape(words[i], bytes, error)) fail(where, error);
        call.args.push_back(std::move(bytes));
      }
    }
    if (call.name == "sendmail_many") check_many_args(call);
    if (call.args.size() < spec->min_args || call.args.size() > spec->max_args) {
      fail(where, "'" + call.name + "' takes " +
                      (spec->min_args == spec->max_args ? std::to_string(spec->min_args)
                                                        : std::to_string(spec->min_args) + " to " +
                                                              std::to_string(spec->max_args)) +
                      " argument(s), got " + std::to_string(call.args.size()));
    }
    if (spec->needs_message) needs_message_ = true;
    scenario_.client.calls.push_back(std::move(call));
  }

  // sendmail_many FROM TO[,TO...] [FROM TO[,TO...]]...: every pair is one message.
  void check_many_args(const ClientCall& call) {
    const std::size_t n = call.args.size();
    const std::string rule =
        "'sendmail_many' takes pairs 'FROM TO[,TO...]', one per message, 1 to " +
        std::to_string(ParserLimits::max_many_messages) + " messages (2 to " +
        std::to_string(2 * ParserLimits::max_many_messages) + " arguments)";
    if (n < 2) fail(call.where, rule + ": got " + std::to_string(n) + " argument(s)");
    if (n > 2 * ParserLimits::max_many_messages) {
      fail(call.where, rule + ": got " + std::to_string(n) + " arguments");
    }
    if (n % 2 != 0) {
      fail(call.where, rule + ": got " + std::to_string(n) +
                           " arguments, an odd number (a FROM without its TO list)");
    }
  }

  // `results=R1,R2,...`: each R is `ok`, `EXCEPTION` or `EXCEPTION:CODE`.
  std::vector<MessageResult> message_results(const std::string& list, const Location& where) {
    const std::string form =
        "expected 'results=R1,R2,...' where each R is ok, EXCEPTION or "
        "EXCEPTION:CODE";
    std::vector<MessageResult> out;
    if (list.empty() || list.front() == ',' || list.back() == ',' ||
        list.find(",,") != std::string::npos) {
      fail(where, form + ", got 'results=" + list + "'");
    }
    for (const auto& item : split_words(list, true)) {
      MessageResult r;
      if (item == "ok") {
        out.push_back(r);
        continue;
      }
      r.ok = false;
      const auto colon = item.find(':');
      r.exception = item.substr(0, colon);
      if (r.exception == "ok") fail(where, "results: 'ok' takes no code, got '" + item + "'");
      if (!is_known_exception(r.exception)) {
        fail(where, "results: unknown exception '" + r.exception + "' (expected ok or one of " +
                        exception_names() + ")");
      }
      if (colon != std::string::npos) {
        const std::string code = item.substr(colon + 1);
        auto n = parse_int(code);
        if (!n || *n < 100 || *n > 599) {
          fail(where, "results: expected a reply code 100-599 after '" + r.exception + ":', got '" +
                          code + "'");
        }
        r.code = static_cast<int>(*n);
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  static std::string exception_names() {
    std::string names;
    for (const char* n : known_exceptions) names += std::string(names.empty() ? "" : ", ") + n;
    return names;
  }

  Outcome outcome(const std::string& value, const Location& where) {
    Outcome o;
    o.where = where;
    o.text = value;
    auto words = split_words(value, false);
    auto bad_code = [&](const std::string& w) -> int {
      auto n = parse_int(w);
      if (!n || *n < 100 || *n > 599) fail(where, "expected a reply code 100-599, got '" + w + "'");
      return static_cast<int>(*n);
    };
    if (words.empty())
      fail(where,
           "expected 'ok [reply=CODE] [refused=ADDR:CODE,...] [results=R,...]' or 'raises "
           "EXCEPTION [CODE]'");
    if (words[0] == "ok") {
      o.ok = true;
      for (std::size_t i = 1; i < words.size(); ++i) {
        const auto& w = words[i];
        if (w.starts_with("reply=")) {
          o.reply = bad_code(w.substr(6));
        } else if (w.starts_with("refused=")) {
          for (const auto& item : split_words(w.substr(8), true)) {
            auto colon = item.rfind(':');
            if (colon == std::string::npos || colon == 0) {
              fail(where, "expected 'refused=ADDR:CODE[,ADDR:CODE...]', got '" + item + "'");
            }
            o.refused[item.substr(0, colon)] = bad_code(item.substr(colon + 1));
          }
        } else if (w.starts_with("results=")) {
          if (o.results) fail(where, "'results=' given twice");
          o.results = message_results(w.substr(8), where);
        } else {
          fail(where,
               "after 'ok' expected 'reply=CODE', 'refused=ADDR:CODE,...' or 'results=R,...', got "
               "'" +
                   w + "'");
        }
      }
    } else if (words[0] == "raises") {
      o.ok = false;
      for (const auto& w : words) {
        if (w.starts_with("results=")) {
          fail(where,
               "'results=' belongs to an 'ok' outcome: sendmail_many returns normally and "
               "reports each message's result");
        }
      }
      if (words.size() < 2 || words.size() > 3) fail(where, "expected 'raises EXCEPTION [CODE]'");
      if (!is_known_exception(words[1])) {
        fail(where,
             "unknown exception '" + words[1] + "' (expected one of " + exception_names() + ")");
      }
      o.exception = words[1];
      if (words.size() == 3) o.code = bad_code(words[2]);
    } else {
      fail(where, "expected 'ok ...' or 'raises EXCEPTION [CODE]', got '" + words[0] + "'");
    }
    return o;
  }

  void finish() {
    Location head{scenario_.file, 1};
    if (scenario_.name.empty()) {
      scenario_.name = fs::path(scenario_.file).stem().string();
    }
    if (scenario_.description.empty()) {
      fail(head, "missing 'description:' (one line saying what the scenario checks)");
    }
    if (scenario_.transports.empty()) scenario_.transports.push_back(Transport::plain);
    if (scenario_.steps.empty())
      fail(head, "no script: expected at least one 'S:'/'C:' line or action");
    // The client section.
    auto& client = scenario_.client;
    if (!client.calls.empty() && !client.expect) {
      fail(client.calls.front().where, "a client section needs 'expect:' (the outcome)");
    }
    if (client.calls.empty() && client.expect) {
      fail(client.expect->where, "'expect:' without any 'client:' call");
    }
    check_many(client);
    if (!client.smtplib_note.empty() && !client.expect_smtplib) {
      fail(note_where_, "'note-smtplib:' explains 'expect-smtplib:', which is missing");
    }
    if (message_) {
      client.message = *message_;
      if (!needs_message_) fail(message_where_, "'message:' given but no client call sends one");
    } else if (needs_message_) {
      client.message = default_message;
    }
    if (!scenario_.clients.empty() && scenario_.clients_note.empty()) {
      fail(clients_where_,
           "'clients:' needs 'note-clients:' (why the other clients do not run this file)");
    }
    if (!scenario_.clients_note.empty() && scenario_.clients.empty()) {
      fail(clients_note_where_, "'note-clients:' explains 'clients:', which is missing");
    }
    const bool handshakes =
        scenario_.declares(Transport::tls) || scenario_.declares(Transport::starttls) ||
        std::any_of(scenario_.steps.begin(), scenario_.steps.end(), [](const Step& s) {
          return s.kind == Step::Kind::starttls || s.kind == Step::Kind::expect_tls_reject;
        });
    if (scenario_.server_cert != "good" && !handshakes) {
      fail(server_cert_where_,
           "'server-cert:' needs a TLS handshake (transport tls or starttls, or a 'starttls' / "
           "'expect-tls-reject' step)");
    }
    for (std::size_t i = 0; i < scenario_.steps.size(); ++i) {
      const auto& s = scenario_.steps[i];
      if (s.kind != Step::Kind::expect_tls_reject) continue;
      if (scenario_.declares(Transport::starttls)) {
        fail(transports_where_,
             "transport 'starttls' inserts a handshake the client must complete, but the script "
             "expects a rejected one at " +
                 s.where.str() + ": write STARTTLS in the script instead");
      }
      if (scenario_.declares(Transport::tls) && i != 0) {
        fail(s.where,
             "over transport 'tls' the handshake comes first: 'expect-tls-reject' must be the "
             "first step (it is that handshake)");
      }
    }
    // Transports that wrap the script must find what they need in it.
    for (const auto& s : scenario_.steps) {
      if (s.kind == Step::Kind::starttls && scenario_.declares(Transport::starttls)) {
        fail(transports_where_,
             "transport 'starttls' inserts its own STARTTLS, but the script "
             "runs one at " +
                 s.where.str() + ": drop 'starttls' from transports");
      }
    }
    if (scenario_.declares(Transport::starttls) &&
        greeting_end(scenario_.steps) == std::string::npos) {
      fail(transports_where_,
           "transport 'starttls' needs a greeting (server lines) followed by a "
           "client line, after which EHLO + STARTTLS are inserted");
    }
    for (const auto& s : scenario_.steps) {
      if (s.kind == Step::Kind::data_lines && s.content.size() != s.count && !s.content.empty()) {
        fail(s.where, "'data-lines " + std::to_string(s.count) + "' followed by " +
                          std::to_string(s.content.size()) + " 'D:' line(s): give all or none");
      }
    }
  }

  // sendmail_many is ours only; `results=` describes its last call.
  void check_many(const ClientSection& client) {
    const ClientCall* first_many = nullptr;
    const ClientCall* last_many = nullptr;
    for (const auto& c : client.calls) {
      if (c.name != "sendmail_many") continue;
      if (!first_many) first_many = &c;
      last_many = &c;
    }
    const auto& clients = scenario_.clients;
    if (first_many && (clients.empty() ||
                       std::find(clients.begin(), clients.end(), "smtplib") != clients.end())) {
      fail(first_many->where,
           "smtplib has no sendmail_many: leave it out with 'clients: cpp cpp-async' (and "
           "'note-clients: sendmail_many is not in smtplib')");
    }
    if (client.expect_smtplib && client.expect_smtplib->results) {
      fail(client.expect_smtplib->where,
           "'results=' in 'expect-smtplib:': smtplib has no sendmail_many");
    }
    if (!client.expect) return;
    const Outcome& o = *client.expect;
    if (o.results && !last_many) {
      fail(o.where,
           "'results=' needs a 'client: sendmail_many' call (it lists one result per message)");
    }
    if (!last_many) return;
    const std::size_t messages = last_many->args.size() / 2;
    if (o.ok && !o.results) {
      fail(o.where,
           "an 'ok' outcome after sendmail_many needs 'results=' (one per message): the call "
           "returns normally even when every message failed");
    }
    if (o.results && o.results->size() != messages) {
      fail(o.where, "'results=' lists " + std::to_string(o.results->size()) +
                        " result(s), but the last sendmail_many (at " + last_many->where.str() +
                        ") sends " + std::to_string(messages) + " message(s)");
    }
  }

  Scenario scenario_;
  bool script_started_ = false;
  bool last_was_data_ = false;
  bool needs_message_ = false;
  Location first_script_;
  Location transports_where_;
  Location message_where_;
  Location note_where_;
  Location clients_where_;
  Location clients_note_where_;
  Location server_cert_where_;
  std::optional<std::string> message_;
  std::map<std::string, Location> seen_;
  std::vector<fs::path> include_stack_;
};

}  // namespace

bool is_known_exception(std::string_view name) {
  return std::find(known_exceptions.begin(), known_exceptions.end(), name) !=
         known_exceptions.end();
}

Scenario parse_file(const fs::path& path) {
  Parser parser;
  std::string text = parser.read(path, Location{path.string(), 0});
  std::error_code ec;
  parser.set_top(fs::weakly_canonical(path, ec));
  return parser.run(text, path.string(), path.parent_path());
}

Scenario parse_text(std::string_view text, const std::string& file_name, const fs::path& base_dir) {
  Parser parser;
  return parser.run(text, file_name, base_dir);
}

}  // namespace smtp::scenario
