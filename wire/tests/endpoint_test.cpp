// The one host/port parser every tool uses (issue 19: ports wrapped modulo 65536).
#include <gtest/gtest.h>

#include <smtp/wire/endpoint.hpp>
#include <string>

namespace smtp::wire {
namespace {

TEST(Endpoint, ports_in_range_and_out) {
  std::string err;
  EXPECT_EQ(parse_port("25", PortZero::refused, err), 25);
  EXPECT_EQ(parse_port("65535", PortZero::refused, err), 65535);
  EXPECT_EQ(parse_port("0", PortZero::allowed, err), 0);
  for (const char* bad : {"0", "65536", "70000", "-1", "99999999999999999999"}) {
    err.clear();
    EXPECT_FALSE(parse_port(bad, PortZero::refused, err)) << bad;
    EXPECT_NE(err.find("out of range (1-65535)"), std::string::npos) << err;
  }
  for (const char* bad : {"", "abc", "25x", " 25", "+25", "2 5"}) {
    err.clear();
    EXPECT_FALSE(parse_port(bad, PortZero::refused, err)) << bad;
    EXPECT_NE(err.find("not a decimal number"), std::string::npos) << err;
  }
  err.clear();
  EXPECT_FALSE(check_port(70000, PortZero::allowed, err));
  EXPECT_EQ(err, "port 70000 is out of range (0-65535)");
}

TEST(Endpoint, host_forms) {
  std::string err;
  auto e = parse_endpoint("mx.example:2525", PortZero::refused, err);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "mx.example");
  EXPECT_EQ(e->port, 2525);
  e = parse_endpoint("[::1]:25", PortZero::refused, err);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 25);
  e = parse_endpoint("[::1]", PortZero::refused, err);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_FALSE(e->port);
  e = parse_endpoint("::1", PortZero::refused, err);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_FALSE(e->port);
  e = parse_endpoint("localhost", PortZero::refused, err);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->port);
}

TEST(Endpoint, malformed_is_named) {
  std::string err;
  EXPECT_FALSE(parse_endpoint("[::1", PortZero::refused, err));
  EXPECT_NE(err.find("without ']'"), std::string::npos) << err;
  EXPECT_FALSE(parse_endpoint("[::1]25", PortZero::refused, err));
  EXPECT_NE(err.find("expected ':PORT'"), std::string::npos) << err;
  EXPECT_FALSE(parse_endpoint(":25", PortZero::refused, err));
  EXPECT_NE(err.find("no host"), std::string::npos) << err;
  EXPECT_FALSE(parse_endpoint("h:70000", PortZero::refused, err));
  EXPECT_NE(err.find("out of range"), std::string::npos) << err;
  EXPECT_EQ(strip_brackets("[::1]"), "::1");
  EXPECT_EQ(strip_brackets("host"), "host");
}

}  // namespace
}  // namespace smtp::wire
