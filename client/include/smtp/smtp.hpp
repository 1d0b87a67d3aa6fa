// The umbrella header: everything a user of the client library needs.
#pragma once

#include "smtp/capabilities.hpp"
#include "smtp/client.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/message_envelope.hpp"
#include "smtp/reply.hpp"
#include "smtp/transport.hpp"
#include "smtp/wire/body_encoder.hpp"
#include "smtp/wire/command_encoder.hpp"
#include "smtp/wire/reply_parser.hpp"
