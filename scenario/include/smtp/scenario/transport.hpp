#pragma once
// Transports are a property of the run, not of the file: the player applies one around the
// scripted exchange. Implicit TLS puts a handshake before the first step; STARTTLS inserts
// EHLO (LHLO) + STARTTLS + handshake right after the greeting, so the script's own EHLO is the one
// sent inside TLS.
#include <vector>

#include "smtp/scenario/model.hpp"

namespace smtp::scenario {

// The host name the inserted STARTTLS prelude announces.
inline constexpr const char* prelude_host = "fakeserver.test";

// The steps to play over `transport` (plain and unix: the steps as written).
std::vector<Step> steps_for(const Scenario& scenario, Transport transport);

// Index of the first step after the greeting (the first client step), or npos when the script
// has no client step preceded only by server output.
std::size_t greeting_end(const std::vector<Step>& steps);

}  // namespace smtp::scenario
