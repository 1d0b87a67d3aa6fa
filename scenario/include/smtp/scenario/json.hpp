#pragma once
// The parsed scenario as JSON, for tools written in Python (the harness): `smtp-fakeserver dump`.
#include <string>

#include "smtp/scenario/model.hpp"

namespace smtp::scenario {

std::string to_json(const Scenario& scenario, int indent = 2);

}  // namespace smtp::scenario
