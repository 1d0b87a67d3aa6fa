#include "smtp/sasl/redact.hpp"

#include <gtest/gtest.h>

namespace {

using smtp::sasl::redact_auth_command;
using smtp::sasl::redact_auth_response;
using smtp::sasl::redact_client_line;

TEST(SaslRedact, AuthCommandWithInitialResponse) {
  EXPECT_EQ(redact_auth_command("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm"),
            "AUTH PLAIN <redacted>");
  EXPECT_EQ(redact_auth_command("AUTH LOGIN dGlt\r\n"), "AUTH LOGIN <redacted>\r\n");
  EXPECT_EQ(redact_auth_command("auth xoauth2 dXNlcj0=\n"), "auth xoauth2 <redacted>\n");
  EXPECT_EQ(redact_auth_command("AUTH PLAIN ="), "AUTH PLAIN <redacted>");
  EXPECT_EQ(redact_auth_command("AUTH  PLAIN  a b c"), "AUTH  PLAIN <redacted>");
}

TEST(SaslRedact, AuthCommandWithoutInitialResponseIsUnchanged) {
  EXPECT_EQ(redact_auth_command("AUTH CRAM-MD5\r\n"), "AUTH CRAM-MD5\r\n");
  EXPECT_EQ(redact_auth_command("AUTH LOGIN"), "AUTH LOGIN");
}

TEST(SaslRedact, OtherCommandsAreUnchanged) {
  EXPECT_EQ(redact_auth_command("MAIL FROM:<a@b>\r\n"), "MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(redact_auth_command("AUTHX PLAIN abc"), "AUTHX PLAIN abc");
  EXPECT_EQ(redact_auth_command("EHLO auth plain x"), "EHLO auth plain x");
  EXPECT_EQ(redact_auth_command(""), "");
}

TEST(SaslRedact, ResponsesInsideAnExchange) {
  EXPECT_EQ(redact_auth_response("c2VjcmV0\r\n"), "<redacted>\r\n");
  EXPECT_EQ(redact_auth_response("dGltIGI5MTNhNjAy"), "<redacted>");
  EXPECT_EQ(redact_auth_response("*\r\n"), "*\r\n");  // cancel carries nothing
  EXPECT_EQ(redact_auth_response("\r\n"), "\r\n");    // empty response carries nothing
  EXPECT_EQ(redact_auth_response(""), "");
}

TEST(SaslRedact, ClientLineDispatchesOnExchangeState) {
  EXPECT_EQ(redact_client_line("AUTH PLAIN abc=\r\n", false), "AUTH PLAIN <redacted>\r\n");
  EXPECT_EQ(redact_client_line("RCPT TO:<x@y>\r\n", false), "RCPT TO:<x@y>\r\n");
  EXPECT_EQ(redact_client_line("c2VjcmV0\r\n", true), "<redacted>\r\n");
  // Inside an exchange even a line that looks like a command is a credential.
  EXPECT_EQ(redact_client_line("QUIT\r\n", true), "<redacted>\r\n");
}

}  // namespace
