// Fuzz target: options (core/options.h), from the command line and from an INI config file.
//
// Input: command-line words, one per line; then, when the input holds a NUL byte, the text after it is
// a config file, passed with --config. The table has an option of every kind (int, long, double, bool,
// string, and choices of an enum and of an int). Only an OptionError (a UserError) may leave
// parse_options; after a successful parse the table must print as --help and as config.ini, which
// must read back to the same values.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "fuzz_support.h"

namespace {

using atrous::OptionTable;

enum class Merge { max, mean, sum };

struct FuzzOptions {
  int steps = 0;
  long bytes = 0;
  double rate = 0;
  bool flip = false;
  std::string path, scales;
  Merge merge = Merge::max;
  int stride = 0;

  void declare(OptionTable& table) {
    table.add("train.steps", &steps, 100, "training steps", "an integer >= 1");
    table.add("data.bytes", &bytes, 1L << 20, "a byte count", "an integer >= 0");
    table.add("optim.lr", &rate, 0.007, "the learning rate", "a number > 0");
    table.add("data.flip", &flip, true, "random flips", "true or false");
    table.add("data.train", &path, std::string("train.h5"), "the training pack", "a file");
    table.add("eval.scales", &scales, std::string("1"), "the scales", "numbers > 0, comma-separated");
    table.add_choice(
        "model.merge", &merge, Merge::max, "how scales merge",
        atrous::ChoiceValues<Merge>{{"max", Merge::max}, {"mean", Merge::mean}, {"sum", Merge::sum}});
    table.add_choice("model.output_stride", &stride, 16, "the output stride",
                     atrous::ChoiceValues<int>{{"8", 8}, {"16", 16}, {"32", 32}});
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1)
    lines.push_back(text.substr(begin, end - begin));
  if (begin < text.size()) lines.push_back(text.substr(begin));
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static atrous::fuzz::InputFile config(".ini");
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::vector<std::string> args = lines_of(input.substr(0, nul));
  if (nul != std::string::npos) {
    args.push_back("--config");
    args.push_back(config.write(input.substr(nul + 1)));
  }
  FuzzOptions options;
  OptionTable table;
  options.declare(table);
  const bool parsed = atrous::fuzz::expect_only_user_errors("parse_options", [&] {
    atrous::parse_options(table, args, {"infer.out", "log.level"});
  });
  if (!parsed) return 0;
  const std::string config_text = atrous::effective_config(table);
  FUZZ_REQUIRE("effective_config", config_text.find("[train]\nsteps = ") != std::string::npos);
  FUZZ_REQUIRE("options_help", !atrous::options_help(table).empty());
  // config.ini reads back as the values it was written from (resuming with --config RUN_DIR/config.ini).
  static atrous::fuzz::InputFile written(".ini");
  FuzzOptions reread;
  OptionTable again;
  reread.declare(again);
  atrous::parse_options(again, {"--config", written.write(config_text)}, {});
  FUZZ_REQUIRE("config.ini reads back",
               reread.steps == options.steps && reread.bytes == options.bytes &&
                   reread.flip == options.flip && reread.path == options.path &&
                   reread.scales == options.scales && reread.merge == options.merge &&
                   reread.stride == options.stride &&
                   (reread.rate == options.rate || (std::isnan(reread.rate) && std::isnan(options.rate))));
  atrous::fuzz::expect_only_user_errors("parse_positive_numbers", [&] {
    for (double scale :
         atrous::parse_positive_numbers("eval.scales", options.scales, "numbers in (0, 8]", 8.0))
      FUZZ_REQUIRE("parse_positive_numbers", scale > 0 && scale <= 8);
  });
  return 0;
}
