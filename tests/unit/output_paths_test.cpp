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

// infer.logits_out OUT/s0.png: the mask of image s0 replaced the logits file (exit 0), or the reverse.
TEST(OutputPaths, AFileInsideAnotherOutputsFolderIsRefused) {
  const fs::path dir = fs::temp_directory_path() / "atrous_output_inside_test";
  test_support::remove_tree(dir.string());
  fs::create_directories(dir / "out");
  fs::create_symlink(dir / "out", dir / "link");
  for (const fs::path& inside : {dir / "out" / "s0.png", dir / "out" / "sub" / "l.h5", dir / "link" / "l.h5",
                                 dir / "out" / ".." / "out" / "l.h5"}) {
    try {
      refuse_output_inside({"infer.logits_out", inside.string()}, {"infer.out", (dir / "out").string()});
      ADD_FAILURE() << inside << " accepted";
    } catch (const UserError& error) {
      EXPECT_NE(error.message().find("infer.logits_out '" + inside.string() + "' lies inside infer.out"),
                std::string::npos)
          << error.message();
    }
  }
  EXPECT_NO_THROW(refuse_output_inside({"infer.logits_out", (dir / "outside.h5").string()},
                                       {"infer.out", (dir / "out").string()}));
  EXPECT_NO_THROW(refuse_output_inside({"infer.logits_out", (dir / "out2.h5").string()},
                                       {"infer.out", (dir / "out").string()}));  // a prefix of the name only
  EXPECT_THROW(refuse_output_inside({"infer.logits_out", (dir / "new" / "l.h5").string()},
                                    {"infer.out", (dir / "new").string() + "/"}),
               UserError);  // a folder not made yet, spelt with a slash
  EXPECT_NO_THROW(refuse_output_inside({"infer.logits_out", ""}, {"infer.out", (dir / "out").string()}));
  test_support::remove_tree(dir.string());
}

// pack --out into a missing folder or onto a folder failed only after packing everything.
TEST(OutputPaths, AnOutputFileThatCannotBeWrittenIsRefusedFirst) {
  const fs::path dir = fs::temp_directory_path() / "atrous_output_file_test";
  test_support::remove_tree(dir.string());
  fs::create_directories(dir / "folder");
  std::ofstream(dir / "file") << "x";
  const auto refusal = [](const fs::path& path) {
    try {
      check_output_file({"pack.out", path.string()});
    } catch (const UserError& error) {
      return error.message();
    }
    return std::string("no error");
  };
  EXPECT_NE(refusal(dir / "folder")
                .find("pack.out '" + (dir / "folder").string() + "' is a folder; give a file path"),
            std::string::npos);
  EXPECT_NE(refusal(dir / "missing" / "p.h5")
                .find("its folder '" + (dir / "missing").string() + "' does not exist"),
            std::string::npos);
  EXPECT_NE(refusal(dir / "file" / "p.h5").find("is not a folder"), std::string::npos);
  EXPECT_EQ(refusal(dir / "folder" / "p.h5"), "no error");
  EXPECT_EQ(refusal(dir / "file"), "no error");  // replaced when the command ends
  test_support::remove_tree(dir.string());
}

}  // namespace
}  // namespace atrous
