// The command encoder refuses anything that could inject a command or break RFC 5321 grammar.
#include <gtest/gtest.h>

#include <smtp/wire/command_encoder.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace smtp::wire {
namespace {

using Opts = std::vector<std::string>;

TEST(CommandEncoder, builds_lines_like_smtplib_putcmd) {
  EXPECT_EQ(command::line("noop"), "noop\r\n");
  EXPECT_EQ(command::line("vrfy", "user"), "vrfy user\r\n");
  EXPECT_EQ(command::line("X-CUSTOM", "a b c"), "X-CUSTOM a b c\r\n");
  // HT is a control too: refused like every other one (smtplib refuses only CR and LF).
  EXPECT_THROW(command::line("X-CUSTOM", "a\tb"), std::invalid_argument);
}

TEST(CommandEncoder, refuses_controls_in_arguments) {
  for (const std::string& bad :
       {std::string("a\r\nRSET"), std::string("a\nb"), std::string("a\rb"), std::string("a\0b", 3),
        std::string("a\x1b[0m"), std::string("a\x7f")}) {
    EXPECT_THROW(command::line("noop", bad), std::invalid_argument) << bad;
  }
}

TEST(CommandEncoder, refuses_bad_verbs) {
  EXPECT_THROW(command::line(""), std::invalid_argument);
  EXPECT_THROW(command::line(" noop"), std::invalid_argument);
  EXPECT_THROW(command::line("1noop"), std::invalid_argument);
  // A whole command in `cmd`, as smtplib users write docmd("MAIL FROM:<a@b>").
  EXPECT_EQ(command::line("MAIL FROM:<a@b.example>"), "MAIL FROM:<a@b.example>\r\n");
  EXPECT_THROW(command::line("noop\r\nrset"), std::invalid_argument);
}

TEST(CommandEncoder, mail_and_rcpt_use_smtplib_spelling) {
  EXPECT_EQ(command::mail("a@example.com", Opts{}), "mail FROM:<a@example.com>\r\n");
  EXPECT_EQ(command::mail("a@example.com", Opts{"SIZE=100", "BODY=8BITMIME"}),
            "mail FROM:<a@example.com> SIZE=100 BODY=8BITMIME\r\n");
  EXPECT_EQ(command::rcpt("b@example.com", Opts{"NOTIFY=SUCCESS,FAILURE"}),
            "rcpt TO:<b@example.com> NOTIFY=SUCCESS,FAILURE\r\n");
}

TEST(CommandEncoder, quote_address_takes_the_addr_spec_as_quoteaddr) {
  EXPECT_EQ(command::quote_address("a@b.example", false), "<a@b.example>");
  EXPECT_EQ(command::quote_address("<a@b.example>", false), "<a@b.example>");
  EXPECT_EQ(command::quote_address("Ann Example <a@b.example>", false), "<a@b.example>");
  EXPECT_EQ(command::quote_address("\"Doe, J <x>\" <j@b.example>", false), "<j@b.example>");
  EXPECT_EQ(command::quote_address("  a@b.example ", false), "<a@b.example>");
}

TEST(CommandEncoder, null_reverse_path_only_for_the_sender) {
  EXPECT_EQ(command::quote_address("<>", true), "<>");
  EXPECT_EQ(command::mail("<>", Opts{}), "mail FROM:<>\r\n");
  EXPECT_THROW(command::rcpt("<>", Opts{}), std::invalid_argument);
  EXPECT_EQ(command::mail("", Opts{}), "mail FROM:<>\r\n");  // smtplib's quoteaddr("")
  EXPECT_THROW(command::rcpt("", Opts{}), std::invalid_argument);
}

TEST(CommandEncoder, postmaster_without_domain_is_a_legal_recipient) {
  EXPECT_EQ(command::rcpt("Postmaster", Opts{}), "rcpt TO:<Postmaster>\r\n");
  EXPECT_THROW(command::mail("Postmaster", Opts{}), std::invalid_argument);
}

TEST(CommandEncoder, accepts_rfc5321_path_forms) {
  for (const char* ok :
       {"user@example.com", "first.last+tag@sub.example.co", "\"quoted local\"@example.com",
        "\"q\\\"uote\"@example.com", "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]",
        "@relay.example,@r2.example:user@example.com", "o'brien@example.com",
        "us\xc3\xa9r@exampl\xc3\xa9.com", "a@localhost"}) {
    EXPECT_NO_THROW(command::quote_address(ok, false)) << ok;
  }
}

TEST(CommandEncoder, refuses_addresses_outside_the_path_grammar) {
  for (const char* bad :
       {"user", "user@", "@example.com", "a b@example.com", "a..b@example.com", ".a@example.com",
        "a.@example.com", "a@-example.com", "a@example-.com", "a@example..com", "a@exa_mple.com",
        "a@[1.2.3.4", "a@b>c", "<a@b> <c@d>", "\"unterminated@example.com", "a@b.example> SIZE=1",
        "a@b.example>\r\nRSET", "a@b.example\r\nRCPT TO:<x@y>", "a@b@c"}) {
    EXPECT_THROW(command::quote_address(bad, false), std::invalid_argument) << bad;
  }
}

TEST(CommandEncoder, esmtp_parameters_follow_keyword_value_grammar) {
  for (const char* ok : {"SIZE=1000", "BODY=8BITMIME", "SMTPUTF8", "RET=HDRS", "ENVID=QQ314159",
                         "ORCPT=rfc822;a+2Bb@example.com", "X-1=v"}) {
    EXPECT_NO_THROW(command::check_esmtp_param(ok)) << ok;
  }
  for (const char* bad : {"", "=x", "-SIZE=1", "SI ZE=1", "SIZE=", "SIZE=1 BODY=7BIT", "SIZE=a=b",
                          "SIZE=1\r\nRSET", "K_EY=1", "SIZE=\x01"}) {
    EXPECT_THROW(command::check_esmtp_param(bad), std::invalid_argument) << bad;
  }
  EXPECT_THROW(command::mail("a@b.example", Opts{"SIZE=1 X"}), std::invalid_argument);
}

TEST(CommandEncoder, hostname_checks) {
  EXPECT_NO_THROW(command::check_hostname("client.example.com"));
  EXPECT_NO_THROW(command::check_hostname("[192.0.2.7]"));
  EXPECT_THROW(command::check_hostname(""), std::invalid_argument);
  EXPECT_THROW(command::check_hostname("a b"), std::invalid_argument);
  EXPECT_THROW(command::check_hostname("a\r\nMAIL FROM:<x@y>"), std::invalid_argument);
}

TEST(CommandEncoder, address_only_for_vrfy_and_expn) {
  EXPECT_EQ(command::address_only("Ann <a@b.example>"), "a@b.example");
  EXPECT_EQ(command::address_only("staff"), "staff");
  EXPECT_THROW(command::address_only("staff\r\nQUIT"), std::invalid_argument);
}

TEST(CommandEncoder, error_names_the_rule) {
  try {
    command::quote_address("a\nb@c", false);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("CR or LF"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smtp::wire
