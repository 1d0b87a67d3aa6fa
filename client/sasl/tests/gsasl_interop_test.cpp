// Interoperability with an independent implementation: GNU SASL's command-line server
// (`gsasl --server`, Debian package gsasl) plays the server side over pipes, with its own random
// salt and nonce. Each line it prints is a challenge; each line we write is a response; after the
// exchange it reports "Server authentication finished" and exits 0 only if it accepted us.
// The test is skipped, saying why, when gsasl is not installed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "smtp/sasl/factory.hpp"
#include "smtp/sasl/scram.hpp"

namespace {

using namespace smtp::sasl;

constexpr const char* gsasl_path = "/usr/bin/gsasl";
constexpr int read_timeout_ms = 10000;  // a stuck exchange fails the test instead of hanging it

class gsasl_server {
 public:
  gsasl_server(const std::string& mechanism_name, const std::string& user,
               const std::string& password) {
    int to_child[2];
    int from_child[2];
    int err_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0 || pipe(err_child) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      dup2(err_child[1], 2);
      for (const int fd :
           {to_child[0], to_child[1], from_child[0], from_child[1], err_child[0], err_child[1]}) {
        close(fd);
      }
      const std::string mech = "--mechanism=" + mechanism_name;
      const std::string pass = "--password=" + password;
      const std::string id = "--authentication-id=" + user;
      std::vector<char*> argv{const_cast<char*>(gsasl_path),
                              const_cast<char*>("--server"),
                              const_cast<char*>(mech.c_str()),
                              const_cast<char*>(pass.c_str()),
                              const_cast<char*>(id.c_str()),
                              const_cast<char*>("--verbose"),
                              nullptr};
      execv(gsasl_path, argv.data());
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    close(err_child[1]);
    in_ = to_child[1];
    out_ = from_child[0];
    err_ = err_child[0];
  }

  gsasl_server(const gsasl_server&) = delete;
  gsasl_server& operator=(const gsasl_server&) = delete;

  ~gsasl_server() {
    close_input();
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0 && in_ >= 0; }

  // One line from the server's stdout without its newline; nullopt at EOF or timeout.
  std::optional<std::string> read_line() {
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, read_timeout_ms) <= 0) return std::nullopt;
      std::array<char, 4096> chunk{};
      const ssize_t n = read(out_, chunk.data(), chunk.size());
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk.data(), static_cast<std::size_t>(n));
    }
  }

  // False when the server has already exited (it does as soon as it rejects us): EPIPE, since
  // SIGPIPE is ignored in SetUp.
  bool write_line(const std::string& line) {
    const std::string data = line + "\n";
    return write(in_, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  }

  void close_input() {
    if (in_ >= 0) close(in_);
    in_ = -1;
  }

  // Exit status and everything it wrote to stderr (small: a few diagnostic lines).
  std::pair<int, std::string> finish() {
    close_input();
    std::string errors;
    std::array<char, 4096> chunk{};
    pollfd p{err_, POLLIN, 0};
    while (poll(&p, 1, read_timeout_ms) > 0) {
      const ssize_t n = read(err_, chunk.data(), chunk.size());
      if (n <= 0) break;
      errors.append(chunk.data(), static_cast<std::size_t>(n));
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, errors};
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
  std::string buffer_;
};

struct result {
  int exit_status;
  std::string server_log;
  std::optional<sasl_error> client_error;
};

// Plays `mech` against gsasl until the mechanism is done, then acknowledges the server's final
// output with an empty line (SMTP would see 235 there) and ends the session.
result run(mechanism& mech, const std::string& server_password, bool initial_response_ok) {
  gsasl_server server{std::string{mech.name()}, "user", server_password};
  EXPECT_TRUE(server.started());
  result out{-1, {}, std::nullopt};
  const auto name = server.read_line();
  EXPECT_EQ(name, std::string{mech.name()});
  bool first = true;
  while (!mech.done()) {
    const auto challenge = server.read_line();
    if (!challenge) break;  // the server gave up
    if (first && initial_response_ok) {
      first = false;
      if (auto ir = mech.initial_response()) {
        // gsasl's first output for a client-first mechanism is the empty "go ahead".
        EXPECT_EQ(*challenge, "");
        server.write_line(*ir == "=" ? "" : *ir);
        continue;
      }
    }
    first = false;
    const auto r = mech.step(*challenge);
    if (!r) {
      out.client_error = r.error();
      break;
    }
    server.write_line(r.response());
  }
  if (mech.done()) server.write_line("");  // acknowledge the final (success) output
  auto [status, log] = server.finish();
  out.exit_status = status;
  out.server_log = log;
  return out;
}

class SaslGsaslInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(gsasl_path, X_OK) != 0) {
      GTEST_SKIP() << gsasl_path << " not installed (Debian package gsasl)";
    }
    // A server that rejects us exits at once; writing to it must fail, not kill the test.
    signal(SIGPIPE, SIG_IGN);
  }
};

const credentials pencil{"user", std::string{"pencil"}, std::nullopt, {}};
const credentials wrong{"user", std::string{"not-pencil"}, std::nullopt, {}};

TEST_F(SaslGsaslInterop, ScramSha256WithInitialResponse) {
  scram_sha256 mech{"user", "pencil"};
  const auto r = run(mech, "pencil", true);
  EXPECT_FALSE(r.client_error) << r.client_error->message();
  EXPECT_TRUE(mech.server_verified());
  EXPECT_EQ(r.exit_status, 0) << r.server_log;
  EXPECT_NE(r.server_log.find("Server authentication finished"), std::string::npos) << r.server_log;
}

TEST_F(SaslGsaslInterop, ScramSha256WithoutInitialResponse) {
  scram_sha256 mech{"user", "pencil"};
  const auto r = run(mech, "pencil", false);
  EXPECT_FALSE(r.client_error) << r.client_error->message();
  EXPECT_TRUE(mech.server_verified());
  EXPECT_EQ(r.exit_status, 0) << r.server_log;
}

// The server rejects the proof and never sends v=: the client is not authenticated, and a 235
// (which an impostor could send at this point) would not be believed.
TEST_F(SaslGsaslInterop, ScramSha256WrongPasswordIsRejected) {
  scram_sha256 mech{"user", "not-pencil"};
  const auto r = run(mech, "pencil", true);
  EXPECT_NE(r.exit_status, 0) << r.server_log;
  EXPECT_FALSE(mech.server_verified());
  EXPECT_TRUE(mech.on_success("2.7.0 ok"));
}

TEST_F(SaslGsaslInterop, PasswordMechanismsAuthenticate) {
  for (const char* name : {"PLAIN", "LOGIN", "CRAM-MD5"}) {
    for (const bool ir : {true, false}) {
      // gsasl's LOGIN server always prompts first, so it has no place for an initial response
      // (that path is covered by SaslLogin.InitialResponseIsTheUserName).
      if (std::string_view{name} == "LOGIN" && ir) continue;
      auto mech = make_mechanism(name, pencil);
      const auto r = run(*mech, "pencil", ir);
      EXPECT_FALSE(r.client_error) << name;
      EXPECT_EQ(r.exit_status, 0) << name << " ir=" << ir << "\n" << r.server_log;
      EXPECT_NE(r.server_log.find("Server authentication finished"), std::string::npos)
          << name << " ir=" << ir << "\n"
          << r.server_log;
    }
  }
}

TEST_F(SaslGsaslInterop, PasswordMechanismsWithWrongPasswordAreRejected) {
  for (const char* name : {"PLAIN", "LOGIN", "CRAM-MD5"}) {
    auto mech = make_mechanism(name, wrong);
    const auto r = run(*mech, "pencil", std::string_view{name} == "PLAIN");
    EXPECT_NE(r.exit_status, 0) << name << "\n" << r.server_log;
    EXPECT_EQ(r.server_log.find("Server authentication finished"), std::string::npos) << name;
  }
}

}  // namespace
