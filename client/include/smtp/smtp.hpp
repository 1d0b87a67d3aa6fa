// The umbrella header: everything a user of the client library needs.
#pragma once

#include "smtp/body_encoder.hpp"
#include "smtp/capabilities.hpp"
#include "smtp/client.hpp"
#include "smtp/command_encoder.hpp"
#include "smtp/exceptions.hpp"
#include "smtp/message_envelope.hpp"
#include "smtp/reply.hpp"
#include "smtp/reply_parser.hpp"
#include "smtp/transport.hpp"
