// smtp-pattern-bench: how long one 64 KiB line (the players' line limit) takes to match against
// each `~` pattern of the scenario corpus (issue 22), plus the shapes for reference.
// Each pattern meets lines made of its literal head (the text before the first regex operator,
// so that the engine gets past it) filled up to the limit with letters, digits, "x " pairs, "abx",
// a run of x and the head repeated; the slowest of them is printed (median of 5 runs) with its
// result.
//
//   smtp-pattern-bench [SCENARIOS_DIR]   (default: the source tree's scenarios/)
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <smtp/scenario/limits.hpp>
#include <smtp/scenario/parser.hpp>
#include <smtp/scenario/pattern.hpp>
#include <string>
#include <vector>

namespace {

using smtp::scenario::LinePattern;
using smtp::scenario::MatchResult;

constexpr std::size_t runs = 5;  // per line; the median is kept
const std::size_t line_bytes = smtp::scenario::PeerLimits::max_line - 2;  // CRLF excluded

// The literal text a regex starts with ("MAIL FROM:<alice@example.org>" for
// `~ MAIL FROM:<alice@example\.org>( ...)?`).
std::string literal_head(const std::string& source) {
  std::string head;
  for (std::size_t i = source.starts_with("~ ") ? 2 : 0; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '\\' && i + 1 < source.size() &&
        !std::isalnum(static_cast<unsigned char>(source[i + 1]))) {
      head += source[++i];
    } else if (std::string_view("\\()[]{}|?*+.^$").find(c) != std::string_view::npos) {
      break;
    } else {
      head += c;
    }
  }
  return head;
}

std::string fill(const std::string& head, std::string_view unit) {
  std::string line = head;
  while (line.size() + unit.size() <= line_bytes) line += unit;
  return line;
}

const char* name(MatchResult r) {
  switch (r) {
    case MatchResult::matched:
      return "matched";
    case MatchResult::no_match:
      return "no match";
    case MatchResult::too_complex:
      return "too complex";
  }
  return "?";
}

struct Worst {
  double ms = 0;
  MatchResult result = MatchResult::no_match;
  std::string line_kind;
};

Worst measure(const LinePattern& p) {
  const std::string head = literal_head(p.source());
  std::string mail_head = head;  // "MAIL FROM:<a@b> " + "SIZE=999...": no doubled space
  while (!mail_head.empty() && mail_head.back() == ' ') mail_head.pop_back();
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"letters", fill(head, "a")},       {"digits", fill(mail_head + " SIZE=", "9")},
      {"x-space", fill(head, "x ")},      {"head-repeated", fill(head, head.empty() ? "ab" : head)},
      {"alternating", fill(head, "abx")}, {"x-run", fill(head, "x")},
  };
  Worst worst;
  for (const auto& [kind, line] : lines) {
    std::vector<double> times;
    MatchResult r = MatchResult::no_match;
    for (std::size_t i = 0; i < runs; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      r = p.match(line);
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    if (times[runs / 2] >= worst.ms) worst = {times[runs / 2], r, kind};
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : SMTPKIT_SCENARIOS_DIR;
  std::map<std::string, std::string> where;  // pattern source -> first file:line
  std::vector<std::pair<std::string, bool>> order;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".scn") continue;
    const auto s = smtp::scenario::parse_file(e.path());
    for (const auto& step : s.steps) {
      std::vector<std::pair<const LinePattern*, std::string>> ps;
      if (step.pattern) ps.emplace_back(&*step.pattern, step.where.str());
      for (std::size_t i = 0; i < step.content.size(); ++i) {
        ps.emplace_back(&step.content[i], step.content_where[i].str());
      }
      for (const auto& [p, at] : ps) {
        if (p->kind() != LinePattern::Kind::regex || where.count(p->source())) continue;
        where[p->source()] = std::filesystem::relative(at, dir.parent_path()).string();
        order.emplace_back(p->source(), step.kind == smtp::scenario::Step::Kind::client_line);
      }
    }
  }
  for (const char* extra : {"~ EHLO (a|b|.)*", "~ (x+x+)+(y|z)"}) {
    where[extra] = "(issue 22 shape)";
    order.emplace_back(extra, false);
  }
  std::printf(
      "%zu-byte line against each pattern: slowest of 6 line shapes, median of %zu runs\n\n",
      line_bytes, runs);
  std::printf("| pattern | first at | slowest line | ms | result |\n|---|---|---|---:|---|\n");
  for (const auto& [source, command] : order) {
    std::string error;
    auto p = LinePattern::parse(source, !command, error, command);
    if (!p) {
      std::printf("| `%s` | %s | - | - | %s |\n", source.c_str(), where[source].c_str(),
                  error.c_str());
      continue;
    }
    const Worst w = measure(*p);
    std::printf("| `%s` | %s | %s | %.3f | %s |\n", source.c_str(), where[source].c_str(),
                w.line_kind.c_str(), w.ms, name(w.result));
  }
  return 0;
}
