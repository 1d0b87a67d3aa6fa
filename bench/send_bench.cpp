// Sends COUNT messages over one connection with smtp::SMTP and prints "<seconds> <messages>" on
// stdout: the client side of bench/run.py. The message is SIZE bytes held in memory, or the file
// given with --file, streamed from disk for every message (smtp::FileBody). With --many, the COUNT
// messages go through one sendmail_many() call (the next message pipelined behind the previous).
// Usage: smtp-send-bench HOST PORT COUNT SIZE [--no-pipelining] [--no-chunking] [--file PATH]
//        [--many]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <smtp/client.hpp>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: %s HOST PORT COUNT SIZE [--no-pipelining] [--no-chunking] [--file PATH] "
                 "[--many]\n",
                 argv[0]);
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  const long count = std::atol(argv[3]);
  const auto size = static_cast<std::size_t>(std::atol(argv[4]));
  bool pipelining = true;
  bool chunking = true;
  bool many = false;
  std::string file;
  for (int i = 5; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-pipelining") {
      pipelining = false;
    } else if (arg == "--no-chunking") {
      chunking = false;
    } else if (arg == "--many") {
      many = true;
    } else if (arg == "--file" && i + 1 < argc) {
      file = argv[++i];
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  std::string msg;
  if (file.empty()) {
    msg = "Subject: bench\r\n\r\n";
    while (msg.size() < size)
      msg += "0123456789012345678901234567890123456789012345678901234567\r\n";
    msg.resize(size);
  }
  try {
    smtp::SMTP client(host, port);
    client.set_pipelining(pipelining);
    client.set_chunking(chunking);
    const std::vector<std::string> to = {"rcpt@example.com"};
    std::vector<smtp::OutgoingMail> mails;
    std::deque<smtp::FileBody> files;  // not movable: a deque never moves its elements
    if (many) {
      mails.reserve(static_cast<std::size_t>(count));
      for (long i = 0; i < count; ++i) {
        mails.push_back({"from@example.com", to, msg, nullptr, {}, {}});
        if (!file.empty()) {
          files.emplace_back(file);
          mails.back().body = &files.back();
        }
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    if (many) {
      for (const smtp::MailResult& r : client.sendmail_many(mails)) {
        if (r.error) std::rethrow_exception(r.error);
        if (!r.refused.empty()) return 1;
      }
    }
    for (long i = 0; i < (many ? 0 : count); ++i) {
      const auto refused = file.empty()
                               ? client.sendmail("from@example.com", to, msg)
                               : client.sendmail("from@example.com", to, smtp::FileBody(file));
      if (!refused.empty()) return 1;
    }
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    client.quit();
    std::printf("%.6f %ld\n", dt.count(), count);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
