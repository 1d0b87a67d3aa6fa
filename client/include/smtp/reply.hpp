// A server reply as the client API names it: smtp::Reply, the (code, msg) pair of smtplib. The
// type itself lives in the wire core (<smtp/wire/reply.hpp>), shared with every player.
#pragma once

#include "smtp/wire/reply.hpp"

namespace smtp {

using wire::EnhancedStatus;
using wire::parse_enhanced_status;
using wire::Reply;

}  // namespace smtp
