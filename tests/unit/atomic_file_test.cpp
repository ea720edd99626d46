#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "atrous/core/atomic_file.h"
#include "atrous/core/error.h"

namespace atrous {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = testing::TempDir() + "atomic_file_test";
    fs::remove_all(folder);
    fs::create_directories(folder);
  }
  void TearDown() override { fs::remove_all(folder); }
  std::string folder;
};

TEST_F(AtomicFile, ReplacesTheWholeFile) {
  const std::string path = folder + "/eval.json";
  write_file_atomically(path, "first\n");
  write_file_atomically(path, "second, longer\n");
  EXPECT_EQ(read_text(path), "second, longer\n");
  EXPECT_FALSE(fs::exists(path + ".partial"));
}

// A full disk, as the file-size limit makes it (EFBIG where ENOSPC would come): the old content
// stays, no partial file is left, and the error names the file and what to check.
TEST_F(AtomicFile, AFailedWriteChangesNothingAndSaysSo) {
  const std::string path = folder + "/metrics.jsonl";
  write_file_atomically(path, "kept\n");
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &previous);
  rlimit saved{};
  getrlimit(RLIMIT_FSIZE, &saved);
  rlimit small = saved;
  small.rlim_cur = 4096;
  setrlimit(RLIMIT_FSIZE, &small);
  std::string message;
  try {
    write_file_atomically(path, std::string(100000, 'x'));
  } catch (const UserError& error) {
    message = error.message();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  sigaction(SIGXFSZ, &previous, nullptr);
  EXPECT_NE(message.find("cannot write '" + path + "': writing failed"), std::string::npos) << message;
  EXPECT_NE(message.find("nothing was changed there"), std::string::npos) << message;
  EXPECT_EQ(read_text(path), "kept\n");
  EXPECT_FALSE(fs::exists(path + ".partial"));
}

TEST_F(AtomicFile, AMissingFolderIsAUserErrorNamingTheFile) {
  EXPECT_THROW(write_file_atomically(folder + "/no/such/file", "x"), UserError);
}

TEST_F(AtomicFile, LeftoversOfInterruptedWritesAreRemoved) {
  std::ofstream(folder + "/step-10.pt.partial") << "half";
  std::ofstream(folder + "/latest.partial") << "half";
  std::ofstream(folder + "/step-10.pt") << "whole";
  EXPECT_EQ(remove_partial_files(folder), 2);
  EXPECT_TRUE(fs::exists(folder + "/step-10.pt"));
  EXPECT_EQ(remove_partial_files(folder + "/absent"), 0);
}

}  // namespace
}  // namespace atrous
