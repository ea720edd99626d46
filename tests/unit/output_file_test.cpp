#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/core/output_file.h"
#include "scratch_files.h"

namespace atrous {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> names_in(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Whether another open file description can take the lock now (flock locks conflict between them,
// in one process as between processes).
bool is_locked(const std::string& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool locked = ::flock(descriptor, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(descriptor);
  return locked;
}

void age(const std::string& path, std::chrono::seconds by) {
  const timespec times[2] = {{0, UTIME_OMIT}, {::time(nullptr) - by.count(), 0}};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

using test_support::read_text;

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = testing::TempDir() + "output_file_test";
    fs::remove_all(folder);
    fs::create_directories(folder);
  }
  void TearDown() override { fs::remove_all(folder); }
  std::string folder;
};

TEST_F(OutputFileTest, ReplacesTheWholeFile) {
  const std::string path = folder + "/eval.json";
  write_file_atomically(path, "first\n");
  write_file_atomically(path, "second, longer\n");
  EXPECT_EQ(read_text(path), "second, longer\n");
  EXPECT_EQ(names_in(folder), std::vector<std::string>{"eval.json"}) << "a temporary was left";
}

// A full disk, as the file-size limit makes it (EFBIG where ENOSPC would come): the old content
// stays, no partial file is left, and the error names the file and what to check.
TEST_F(OutputFileTest, AFailedWriteChangesNothingAndSaysSo) {
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
  EXPECT_EQ(names_in(folder), std::vector<std::string>{"metrics.jsonl"}) << "a temporary was left";
}

TEST_F(OutputFileTest, AMissingFolderIsAUserErrorNamingTheFile) {
  EXPECT_THROW(write_file_atomically(folder + "/no/such/file", "x"), UserError);
}

// Links planted where an output or the old fixed temporary name ("<out>.partial") would be: the
// file they point to keeps its bytes, and the output becomes a regular file of its own.
TEST_F(OutputFileTest, APlantedLinkIsReplacedNeverFollowed) {
  const std::string victim = folder + "/victim", out = folder + "/x.png";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, out + ".partial");
  fs::create_symlink(victim, out);
  write_file_atomically(out, "output");
  EXPECT_EQ(read_text(victim), "precious");
  EXPECT_FALSE(fs::is_symlink(out));
  EXPECT_EQ(read_text(out), "output");
  const int descriptor = create_stream_file(out + ".partial", "test");  // a stream replaces its link too
  ::close(descriptor);
  EXPECT_FALSE(fs::is_symlink(out + ".partial"));
  EXPECT_EQ(read_text(victim), "precious");
}

TEST_F(OutputFileTest, TemporariesAreNewHiddenUnpredictableAndLockedForTheWritersLife) {
  const std::string out = folder + "/step-10.pt";
  std::string first_name;
  {
    OutputFile first(out), second(out);
    first_name = first.temporary_path();
    EXPECT_NE(first.temporary_path(), second.temporary_path());
    const std::string name = fs::path(first.temporary_path()).filename().string();
    EXPECT_EQ(name.rfind(".step-10.pt.partial-", 0), 0u) << name;
    EXPECT_EQ(name.size(), std::string(".step-10.pt.partial-").size() + 12) << name;
    EXPECT_TRUE(fs::is_regular_file(first.temporary_path()));
    EXPECT_TRUE(is_locked(first.temporary_path()));
    first.write("whole");
    first.commit();
    EXPECT_FALSE(fs::exists(first_name));
  }  // second: destroyed without commit()
  EXPECT_EQ(names_in(folder), std::vector<std::string>{"step-10.pt"});
  EXPECT_EQ(read_text(out), "whole");
}

// A writer that is gone holds no lock: its temporary goes once unmodified for the grace period. A
// live writer's stays, however old; so do files that are not temporaries, and links.
TEST_F(OutputFileTest, OnlyAbandonedTemporariesAreRemoved) {
  OutputFile live(folder + "/live.h5");
  age(live.temporary_path(), std::chrono::seconds(3600));
  const std::string dead = folder + "/.dead.h5.partial-abcdefghij12",
                    fresh = folder + "/.new.h5.partial-abcdefghij12";
  std::ofstream(dead) << "half";
  std::ofstream(fresh) << "half";
  age(dead, std::chrono::seconds(120));
  for (const char* name : {"step-10.pt.partial", ".x.partial-short", "x.partial-abcdefghij12"})
    std::ofstream(folder + "/" + name) << "not ours";
  fs::create_symlink(folder + "/step-10.pt.partial", folder + "/.link.partial-abcdefghij12");
  EXPECT_EQ(remove_abandoned_outputs(folder, std::chrono::seconds(60)), 1);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_TRUE(fs::exists(live.temporary_path()));
  EXPECT_EQ(remove_abandoned_outputs(folder, std::chrono::seconds(0)), 1);  // under an exclusive lock
  EXPECT_FALSE(fs::exists(fresh));
  EXPECT_TRUE(fs::exists(live.temporary_path()));
  EXPECT_EQ(names_in(folder).size(), 5u);
  EXPECT_EQ(remove_abandoned_outputs(folder + "/absent", std::chrono::seconds(0)), 0);
}

// A library creates the file by name (exclusively); adopt() takes it only when the name is that file.
TEST_F(OutputFileTest, ALibrarysFileIsAdoptedOnlyWhenItIsTheFileAtTheName) {
  const std::string out = folder + "/logits.h5";
  {
    OutputFile output = OutputFile::for_library(out);
    EXPECT_FALSE(fs::exists(output.temporary_path()));
    const int descriptor = ::open(output.temporary_path().c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
    output.adopt(descriptor);
    EXPECT_TRUE(is_locked(output.temporary_path()));
    EXPECT_EQ(::write(descriptor, "data", 4), 4);
    ::close(descriptor);
    output.commit();
  }
  EXPECT_EQ(read_text(out), "data");
  OutputFile planted = OutputFile::for_library(out);
  const std::string victim = folder + "/victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, planted.temporary_path());
  const int descriptor = ::open(victim.c_str(), O_RDWR);
  EXPECT_THROW(planted.adopt(descriptor), UserError);
  ::close(descriptor);
  EXPECT_EQ(read_text(victim), "precious");
  EXPECT_EQ(read_text(out), "data");
}

}  // namespace
}  // namespace atrous
