// What a C++ developer who knows smtplib expects (issue 19): a timeout given as a plain number of
// seconds, exception messages that read like C++ (Python's repr() still available), and FileBody
// refusing a path that is not a message before anything can be sent.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <smtp/smtp.hpp>
#include <system_error>

namespace smtp {
namespace {

using namespace std::chrono_literals;

TEST(Timeout, TakesSecondsDurationsOrNothing) {
  const Timeout thirty = 30;
  ASSERT_TRUE(thirty.has_value());
  EXPECT_EQ(*thirty, 30s);
  EXPECT_EQ(*Timeout(2.5), std::chrono::duration<double>(2.5));
  EXPECT_EQ(*Timeout(1500ms), std::chrono::duration<double>(1.5));
  EXPECT_FALSE(Timeout(std::nullopt).has_value());
  EXPECT_FALSE(Timeout().has_value());
  const std::optional<std::chrono::duration<double>> as_before = std::chrono::duration<double>(4);
  EXPECT_EQ(*Timeout(as_before), 4s);
}

TEST(Timeout, SmtpTakesAPlainNumberOfSeconds) {
  SMTP unconnected("", 0, std::nullopt, 30);  // smtplib.SMTP(timeout=30)
  ASSERT_TRUE(unconnected.timeout().has_value());
  EXPECT_EQ(*unconnected.timeout(), 30s);
  unconnected.set_timeout(0.25);
  EXPECT_EQ(*unconnected.timeout(), 250ms);
}

TEST(Timeout, ANumberOfSecondsIsADeadline) {
  // A listening socket that never accepts: the TCP connect completes, the greeting never comes.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(SMTP("127.0.0.1", ntohs(addr.sin_port), std::nullopt, 0.3), SMTPTimeoutError);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ::close(fd);
}

TEST(Exceptions, WhatReadsLikeCppReprLikePython) {
  const SMTPSenderRefused sender(553, "5.7.1 rejected", "me@example.com");
  EXPECT_STREQ(sender.what(), "sender <me@example.com> refused: 553 5.7.1 rejected");
  EXPECT_EQ(sender.repr(), "SMTPSenderRefused(553, b'5.7.1 rejected', 'me@example.com')");

  const SMTPDataError data(554, "5.7.1 spam\nsecond line");
  EXPECT_STREQ(data.what(), "the server replied 554: 5.7.1 spam; second line");
  EXPECT_EQ(data.repr(), "SMTPDataError(554, b'5.7.1 spam\\nsecond line')");

  const SMTPConnectError refused(-1, "cannot connect to 127.0.0.1:9: Connection refused");
  EXPECT_STREQ(refused.what(), "cannot connect to 127.0.0.1:9: Connection refused");

  const SMTPRecipientsRefused all({{"a@example.com", {550, "no"}}});
  EXPECT_EQ(all.repr(), "SMTPRecipientsRefused({'a@example.com': (550, b'no')})");

  const SMTPServerDisconnected gone("Connection unexpectedly closed");
  EXPECT_EQ(gone.repr(), "SMTPServerDisconnected('Connection unexpectedly closed')");
  const SMTPException& base = sender;  // repr() is virtual
  EXPECT_EQ(base.repr(), sender.repr());
}

TEST(FileBody, ADirectoryOrAMissingFileIsRefusedAtOnce) {
  const auto dir = std::filesystem::temp_directory_path();
  try {
    FileBody body(dir);
    FAIL() << "a directory was taken as a message";
  } catch (const BodyFileError& e) {
    EXPECT_EQ(e.code(), std::errc::is_a_directory);
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  EXPECT_THROW(FileBody(dir / "smtpkit-no-such-file.eml"), std::invalid_argument);
  try {
    FileBody body(dir / "smtpkit-no-such-file.eml");
  } catch (const BodyFileError& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
}

}  // namespace
}  // namespace smtp
