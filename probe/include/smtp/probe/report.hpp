#pragma once
// The probe's report in three forms: a table for people, JSON, JUnit XML.
#include <string>

#include "smtp/probe/probe.hpp"

namespace smtp::probe {

std::string to_table(const Report& report);
std::string to_json(const Report& report, bool transcripts = true);
std::string to_junit(const Report& report);

}  // namespace smtp::probe
