// tests/serve/process_test.cpp — the `bitlm serve` process itself (built binary, free loopback
// port): SIGINT / SIGTERM while a stream runs stop it cleanly (the stream ends with an error
// event, the process exits 0, the port is closed), and start-up errors (an unknown chat template,
// a port in use, a missing model) are one line on stderr and exit 2, never a crash.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace bitlm {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kBitlm = std::string(BITLM_BIN_DIR) + "/bitlm";
const std::string kModel = std::string(BITLM_SOURCE_DIR) + "/models/bitnet-tinystories.gguf";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `bitlm serve ARGS` as a child process, its stderr in a temp file.
struct ServeProcess {
  explicit ServeProcess(std::vector<std::string> args) {
    log = testing::TempDir() + "bitlm_serve_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + ".log";
    args.insert(args.begin(), {kBitlm, "serve"});
    pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      if (!f) _exit(127);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(kBitlm.c_str(), argv.data());
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid > 0 && !exited) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    std::remove(log.c_str());
  }
  // The port from the "listening on" line; 0 if the process exited (or 60 s passed) first.
  int wait_listening() {
    const auto until = Clock::now() + std::chrono::seconds(60);
    const std::regex line(R"(listening on http://[^:]+:([0-9]+))");
    while (Clock::now() < until) {
      std::smatch m;
      const std::string text = read_file(log);
      if (std::regex_search(text, m, line)) return std::stoi(m[1]);
      if (waitpid(pid, &status, WNOHANG) == pid) return exited = true, 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
  }
  // The exit code, -1 if it did not exit normally within timeout_s.
  int wait_exit(double timeout_s) {
    const auto until = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (!exited && Clock::now() < until) {
      if (waitpid(pid, &status, WNOHANG) == pid) exited = true;
      else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string stderr_text() const { return read_file(log); }

  static inline int counter = 0;
  std::string log;
  pid_t pid = -1;
  int status = 0;
  bool exited = false;
};

std::vector<std::string> serve_args(std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"-m", kModel, "--port", "0", "-c", "2048", "--parallel", "2", "-t", "2"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// A stop signal while a long stream runs: the stream gets an error event and ends, the process
// exits 0 soon after (the stream is cancelled, not run to its 2000 tokens), the port is closed.
void stop_while_streaming(int sig) {
  ServeProcess p(serve_args());
  const int port = p.wait_listening();
  ASSERT_GT(port, 0) << p.stderr_text();
  std::promise<void> started;
  auto events = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = R"({"prompt": "Once", "max_tokens": 2000, "ignore_eos": true, "stream": true})";
    req.set_header("Content-Type", "application/json");
    std::string all;
    bool told = false;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      all.append(data, n);
      if (!told && all.find("data: ") != std::string::npos) started.set_value(), told = true;
      return true;
    };
    c.send(req);
    if (!told) started.set_value();
    return all;
  });
  started.get_future().wait();
  const auto t0 = Clock::now();
  ASSERT_EQ(kill(p.pid, sig), 0);
  EXPECT_EQ(p.wait_exit(20), 0) << p.stderr_text();
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(took, 10) << "the running stream was not cancelled";
  const std::string body = events.get();
  EXPECT_NE(body.find(R"("error")"), std::string::npos) << "the stream did not end with an error event: " << body.substr(body.size() > 400 ? body.size() - 400 : 0);
  EXPECT_NE(p.stderr_text().find(sig == SIGINT ? "SIGINT received" : "SIGTERM received"), std::string::npos);
  httplib::Client after("127.0.0.1", port);
  EXPECT_FALSE(after.Get("/health")) << "still answering after the signal";
}

TEST(ServeProcess, SigintWhileStreamingExitsZero) { stop_while_streaming(SIGINT); }
TEST(ServeProcess, SigtermWhileStreamingExitsZero) { stop_while_streaming(SIGTERM); }

TEST(ServeProcess, IdleSigtermExitsZero) {
  ServeProcess p(serve_args());
  const int port = p.wait_listening();
  ASSERT_GT(port, 0) << p.stderr_text();
  EXPECT_EQ(httplib::Client("127.0.0.1", port).Get("/health")->status, 200);
  ASSERT_EQ(kill(p.pid, SIGTERM), 0);
  EXPECT_EQ(p.wait_exit(20), 0) << p.stderr_text();
}

// One line naming the problem, exit 2.
void expect_startup_error(std::vector<std::string> args, const std::string& needle) {
  ServeProcess p(std::move(args));
  EXPECT_EQ(p.wait_listening(), 0);
  EXPECT_EQ(p.wait_exit(60), 2) << p.stderr_text();
  const std::string err = p.stderr_text();
  EXPECT_NE(err.find(needle), std::string::npos) << err;
  EXPECT_EQ(err.find("internal error"), std::string::npos) << err;
}

TEST(ServeProcess, UnknownChatTemplateIsAStartupError) {
  const std::string tmpl = testing::TempDir() + "bitlm_serve_tmpl_" + std::to_string(getpid()) + ".jinja";
  std::ofstream(tmpl) << "{% for m in messages %}<<<{{ m.content }}>>>{% endfor %}";
  expect_startup_error(serve_args({"--chat-template", tmpl}), "<<<");
  expect_startup_error(serve_args({"--chat-template", "no-such-family"}), "no-such-family");
  std::remove(tmpl.c_str());
}

TEST(ServeProcess, MissingModelAndBusyPortAreStartupErrors) {
  expect_startup_error({"-m", "/nonexistent/model.gguf", "--port", "0"}, "/nonexistent/model.gguf");
  ServeProcess first(serve_args());
  const int port = first.wait_listening();
  ASSERT_GT(port, 0) << first.stderr_text();
  expect_startup_error({"-m", kModel, "--port", std::to_string(port)}, "cannot listen on 127.0.0.1:" + std::to_string(port));
}

}  // namespace
}  // namespace bitlm
