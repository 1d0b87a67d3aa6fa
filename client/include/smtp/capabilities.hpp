// EHLO capabilities as the client API names them (smtplib's esmtp_features). The parser lives in
// the wire core (<smtp/wire/capabilities.hpp>), shared with the probe and the fake server.
#pragma once

#include "smtp/wire/capabilities.hpp"

namespace smtp {

using wire::EsmtpFeatures;
using wire::has_feature;
using wire::parse_ehlo_features;

}  // namespace smtp
