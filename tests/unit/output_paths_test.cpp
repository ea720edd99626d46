#include "atrous/core/output_paths.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "atrous/core/error.h"
#include "scratch_files.h"

namespace atrous {
namespace {

namespace fs = std::filesystem;

TEST(OutputPaths, AnOutputThatIsAnInputUnderAnySpellingIsRefused) {
  const fs::path dir = fs::temp_directory_path() / "atrous_output_paths_test";
  test_support::remove_tree(dir.string());
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "pack.h5") << "pack";
  std::ofstream(dir / "other.json") << "{}";
  fs::create_symlink(dir / "pack.h5", dir / "link.h5");
  const std::vector<NamedPath> inputs = {{"eval.checkpoint", ""}, {"eval.data", (dir / "pack.h5").string()}};
  for (const fs::path& output : {dir / "sub" / ".." / "pack.h5", dir / "link.h5"}) {
    try {
      refuse_overwriting_inputs({"eval.out", output.string()}, inputs);
      FAIL() << output << " replaces the pack";
    } catch (const UserError& error) {
      EXPECT_EQ(error.message(),
                "eval.out '" + output.string() + "' is the file that eval.data '" +
                    (dir / "pack.h5").string() +
                    "' reads; writing it would replace that input. Give eval.out another path");
    }
  }
  refuse_overwriting_inputs({"eval.out", (dir / "other.json").string()}, inputs);  // another file
  refuse_overwriting_inputs({"eval.out", (dir / "new.json").string()}, inputs);    // not there yet
  refuse_overwriting_inputs({"eval.out", ""}, inputs);
  EXPECT_EQ(std::ifstream(dir / "pack.h5").get(), 'p');
  test_support::remove_tree(dir.string());
}

// Two outputs of one command that are one file, existing or not: eval.out and eval.visualize_out
// both "x" wrote the JSON and then replaced it with the PNG, exit 0.
TEST(OutputPaths, TwoOutputsThatAreOneFileAreRefusedBeforeEitherExists) {
  const fs::path dir = fs::temp_directory_path() / "atrous_shared_outputs_test";
  test_support::remove_tree(dir.string());
  fs::create_directories(dir / "sub");
  const std::string a = (dir / "x").string(), same = (dir / "sub" / ".." / "x").string();
  try {
    refuse_shared_outputs({{"eval.out", a}, {"eval.visualize_out", same}});
    ADD_FAILURE() << "no UserError";
  } catch (const UserError& error) {
    EXPECT_NE(
        error.message().find("eval.out '" + a + "' and eval.visualize_out '" + same + "' are the same file"),
        std::string::npos)
        << error.message();
  }
  fs::create_directory_symlink(dir / "sub", dir / "link");
  EXPECT_THROW(
      refuse_shared_outputs({{"a", (dir / "sub" / "y").string()}, {"b", (dir / "link" / "y").string()}}),
      UserError);
  EXPECT_NO_THROW(refuse_shared_outputs({{"a", a}, {"b", (dir / "y").string()}, {"c", ""}, {"d", ""}}));
  test_support::remove_tree(dir.string());
}

}  // namespace
}  // namespace atrous
