#include "smtp/wire/end_of_data.hpp"

namespace smtp::wire {

namespace {

using namespace std::string_view_literals;

constexpr std::array<DataEndingForm, data_ending_count> forms{{
    {DataEnding::crlf_dot_crlf, "crlf-dot-crlf", "\r\n.\r\n"sv},
    {DataEnding::lf_dot_lf, "lf-dot-lf", "\n.\n"sv},
    {DataEnding::crlf_dot_lf, "crlf-dot-lf", "\r\n.\n"sv},
    {DataEnding::lf_dot_crlf, "lf-dot-crlf", "\n.\r\n"sv},
    {DataEnding::cr_dot_cr, "cr-dot-cr", "\r.\r"sv},
    {DataEnding::crlf_dot_cr, "crlf-dot-cr", "\r\n.\r"sv},
    {DataEnding::cr_dot_crlf, "cr-dot-crlf", "\r.\r\n"sv},
    {DataEnding::crlf_dot_nul_crlf, "crlf-dot-nul-crlf", "\r\n.\0\r\n"sv},
}};

}  // namespace

std::span<const DataEndingForm> data_ending_forms() {
  return forms;
}

std::string_view name_of(DataEnding ending) {
  return forms[static_cast<std::size_t>(ending)].name;
}

std::optional<DataEnding> data_ending_named(std::string_view name) {
  for (const auto& f : forms)
    if (f.name == name) return f.ending;
  return std::nullopt;
}

std::string_view name_of(EndingAction action) {
  switch (action) {
    case EndingAction::content:
      return "content";
    case EndingAction::ends_data:
      return "ends-data";
    case EndingAction::refuse:
      return "refuse";
  }
  return "?";
}

std::optional<EndingAction> ending_action_named(std::string_view name) {
  for (auto a : {EndingAction::content, EndingAction::ends_data, EndingAction::refuse})
    if (name_of(a) == name) return a;
  return std::nullopt;
}

EndOfDataPolicy& EndOfDataPolicy::set(DataEnding ending, EndingAction action) {
  if (ending != DataEnding::crlf_dot_crlf) actions_[static_cast<std::size_t>(ending)] = action;
  return *this;
}

bool EndOfDataPolicy::is_rfc5321() const {
  if (bare_lf_line != EndingAction::content) return false;
  for (std::size_t i = 1; i < data_ending_count; ++i)
    if (actions_[i] != EndingAction::content) return false;
  return true;
}

}  // namespace smtp::wire
