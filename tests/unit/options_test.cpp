#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "atrous/core/options.h"
#include "atrous/distributed/world.h"

namespace atrous {
namespace {

// A component's options, as every component declares them.
struct TrainLikeOptions {
  int batch_size = 8;
  double learning_rate = 0.007;
  std::string schedule = "poly";
  bool nesterov = false;

  static void declare(OptionTable& table, TrainLikeOptions& options) {
    table.add("train.batch_size", &options.batch_size, 8, "images per rank", "an integer >= 1");
    table.add("optim.learning_rate", &options.learning_rate, 0.007, "base LR", "a number > 0");
    table.add("optim.schedule", &options.schedule, std::string("poly"), "LR schedule", "poly, step");
    table.add("optim.nesterov", &options.nesterov, false, "Nesterov momentum", "true or false");
  }
};

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override { TrainLikeOptions::declare(table, options); }

  std::string write_config(const std::string& text) {
    std::string path = ::testing::TempDir() + "/atrous_options_test_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".ini";
    std::ofstream(path) << text;
    return path;
  }

  // Parses and returns the OptionError's message, or "" when parsing succeeded.
  std::string error_of(const std::vector<std::string>& args, const std::set<std::string>& elsewhere = {}) {
    try {
      parse_options(table, args, elsewhere);
    } catch (const OptionError& error) {
      EXPECT_EQ(error.exit_status(), 2);
      return error.message();
    }
    return "";
  }

  OptionTable table;
  TrainLikeOptions options;
};

TEST_F(OptionsTest, DefaultsApplyWhenNothingIsGiven) {
  parse_options(table, {});
  EXPECT_EQ(options.batch_size, 8);
  EXPECT_DOUBLE_EQ(options.learning_rate, 0.007);
  EXPECT_EQ(options.schedule, "poly");
  EXPECT_FALSE(options.nesterov);
  EXPECT_EQ(table.find("train.batch_size")->source, OptionSource::default_value);
}

TEST_F(OptionsTest, CommandLineSetsValuesInBothSpellings) {
  parse_options(table, {"--train.batch_size", "4", "--optim.learning_rate=0.01", "--optim.nesterov"});
  EXPECT_EQ(options.batch_size, 4);
  EXPECT_DOUBLE_EQ(options.learning_rate, 0.01);
  EXPECT_TRUE(options.nesterov);
  EXPECT_EQ(table.find("train.batch_size")->source, OptionSource::command_line);
}

TEST_F(OptionsTest, ConfigFileSectionsMapToDottedNamesAndCommandLineOverrides) {
  std::string path =
      write_config("# comment\n[train]\nbatch_size = 16\n[optim]\nschedule = step\nlearning_rate = 0.1\n");
  parse_options(table, {"--config", path, "--optim.learning_rate", "0.02"});
  EXPECT_EQ(options.batch_size, 16);              // file over default
  EXPECT_EQ(options.schedule, "step");            // file over default
  EXPECT_DOUBLE_EQ(options.learning_rate, 0.02);  // command line over file
  EXPECT_EQ(table.find("train.batch_size")->source, OptionSource::config_file);
  EXPECT_EQ(table.find("optim.learning_rate")->source, OptionSource::command_line);
  EXPECT_EQ(table.find("optim.nesterov")->source, OptionSource::default_value);
  EXPECT_EQ(table.config_files(), std::vector<std::string>{path});
}

// A base file and an experiment's changes: the later file wins, the command line wins over both, and
// config.ini's comments name the file each value came from.
TEST_F(OptionsTest, SeveralConfigFilesLayerLaterOverEarlier) {
  const std::string base =
      write_config("[train]\nbatch_size = 16\n[optim]\nschedule = step\nlearning_rate = 0.1\n");
  const std::string experiment = base + ".experiment.ini";
  std::ofstream(experiment) << "[optim]\nlearning_rate = 0.5\nschedule = poly\n";
  parse_options(table, {"--config", base, "--config", experiment, "--optim.schedule", "step"});
  EXPECT_EQ(options.batch_size, 16);             // only the base sets it
  EXPECT_DOUBLE_EQ(options.learning_rate, 0.5);  // the later file over the earlier
  EXPECT_EQ(options.schedule, "step");           // the command line over both
  EXPECT_EQ(table.config_files(), (std::vector<std::string>{base, experiment}));
  const std::string ini = effective_config(table);
  EXPECT_NE(ini.find("batch_size = 16  # config file '" + base + "'\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("learning_rate = 0.5  # config file '" + experiment + "'\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("schedule = step  # command line\n"), std::string::npos) << ini;
  // The order decides: given the other way round, the base's values win.
  parse_options(table, {"--config", experiment, "--config", base});
  EXPECT_DOUBLE_EQ(options.learning_rate, 0.1);
  EXPECT_EQ(options.schedule, "step");
}

// An inherited layer (a checkpoint's model options) sits above the defaults and below everything the
// user gives; a value given that differs from the layer's is reported, an equal one is not.
TEST_F(OptionsTest, AnInheritedLayerIsBelowConfigFilesAndCommandLine) {
  const OptionLayer layer{"checkpoint 'step-3.pt'",
                          {{"train.batch_size", "4", 1},
                           {"optim.schedule", "step", 2},
                           {"optim.nesterov", "true", 3},
                           {"other.unknown", "x", 4}}};
  const std::string config = write_config("[optim]\nschedule = poly\n");
  parse_options(table, {"--config", config, "--optim.nesterov", "true"}, {}, &layer);
  EXPECT_EQ(options.batch_size, 4);     // inherited over the default
  EXPECT_EQ(options.schedule, "poly");  // the file over the layer
  EXPECT_TRUE(options.nesterov);        // the command line, equal to the layer
  EXPECT_EQ(table.find("train.batch_size")->source, OptionSource::inherited);
  EXPECT_EQ(table.inherited_origin(), "checkpoint 'step-3.pt'");
  const std::string ini = effective_config(table);
  EXPECT_NE(ini.find("batch_size = 4  # checkpoint 'step-3.pt'\n"), std::string::npos) << ini;
  EXPECT_EQ(overridden_inherited_options(table),
            std::vector<std::string>{"optim.schedule = poly (config file '" + config +
                                     "') where checkpoint 'step-3.pt' has step"});
  // Parsed again without the layer, every field is back to what the words alone say.
  parse_options(table, {});
  EXPECT_EQ(options.batch_size, 8);
  EXPECT_TRUE(table.inherited_origin().empty());
  EXPECT_TRUE(overridden_inherited_options(table).empty());
}

// A layer's bad value is an OptionError that names the layer.
TEST_F(OptionsTest, AnInheritedLayersBadValueNamesItsOrigin) {
  const OptionLayer layer{"checkpoint 'old.pt'", {{"train.batch_size", "many", 1}}};
  try {
    parse_options(table, {}, {}, &layer);
    ADD_FAILURE() << "parsed";
  } catch (const OptionError& error) {
    EXPECT_NE(error.message().find("checkpoint 'old.pt'"), std::string::npos) << error.message();
  }
}

TEST_F(OptionsTest, EffectiveConfigIsAnIniFileThatReadsBackToTheSameValues) {
  parse_options(table,
                {"--train.batch_size", "3", "--optim.learning_rate", "0.1", "--optim.nesterov", "true"});
  std::string ini = effective_config(table);
  EXPECT_NE(ini.find("[train]\nbatch_size = 3  # command line\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("learning_rate = 0.1  # command line\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("schedule = poly  # default\n"), std::string::npos) << ini;

  OptionTable again;
  TrainLikeOptions reread;
  TrainLikeOptions::declare(again, reread);
  std::string path = write_config(ini);
  parse_options(again, {"--config", path});
  EXPECT_EQ(reread.batch_size, 3);
  EXPECT_EQ(reread.learning_rate, 0.1);  // exact: shortest round-trip formatting
  EXPECT_TRUE(reread.nesterov);
}

// A value an INI line cannot hold as it is ('#', edge blanks, quotes) is written quoted and reads back.
TEST_F(OptionsTest, EffectiveConfigKeepsValuesThatAnIniLineWouldCut) {
  parse_options(table, {"--optim.schedule", "/runs/r#1 "});
  const std::string ini = effective_config(table);
  EXPECT_NE(ini.find("schedule = \"/runs/r#1 \"  # command line\n"), std::string::npos) << ini;
  OptionTable again;
  TrainLikeOptions reread;
  TrainLikeOptions::declare(again, reread);
  parse_options(again, {"--config", write_config(ini)});
  EXPECT_EQ(reread.schedule, "/runs/r#1 ");
}

TEST_F(OptionsTest, UnknownCommandLineOptionSuggestsTheClosestName) {
  std::string message = error_of({"--train.batchsize", "4"});
  EXPECT_NE(message.find("unknown option 'train.batchsize' on the command line"), std::string::npos)
      << message;
  EXPECT_NE(message.find("did you mean --train.batch_size?"), std::string::npos) << message;
}

TEST_F(OptionsTest, PrefixesAreNeverGuessed) {
  std::string message = error_of({"--train.batch", "4"});
  EXPECT_NE(message.find("unknown option 'train.batch'"), std::string::npos) << message;
  EXPECT_EQ(options.batch_size, 8);
}

TEST_F(OptionsTest, MalformedValuesNameTheOptionTheValueAndWhatIsAllowed) {
  for (const char* bad : {"abc", "3.5", "4x", "99999999999"}) {
    std::string message = error_of({"--train.batch_size", bad});
    EXPECT_NE(message.find("'" + std::string(bad) + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("train.batch_size"), std::string::npos) << message;
    EXPECT_NE(message.find("allowed: an integer >= 1"), std::string::npos) << message;
  }
  std::string message = error_of({"--optim.nesterov", "maybe"});
  EXPECT_NE(message.find("allowed: true or false"), std::string::npos) << message;
}

// boost's what() expands %placeholders% until none is left: a value or line holding one would never end.
TEST_F(OptionsTest, AValueOrLineThatLooksLikeBoostsPlaceholderIsQuotedAsWritten) {
  std::string message = error_of({"--train.batch_size", "%value%"});
  EXPECT_NE(message.find("the argument ('%value%') for option '--train.batch_size' is invalid"),
            std::string::npos)
      << message;
  message = error_of({"--config", write_config("[train]\n%invalid_line%\n")});
  EXPECT_NE(message.find("invalid line '%invalid_line%'"), std::string::npos) << message;
}

TEST_F(OptionsTest, MalformedValueInConfigFileNamesTheFile) {
  std::string path = write_config("[train]\nbatch_size = many\n");
  std::string message = error_of({"--config", path});
  EXPECT_NE(message.find("in config file '" + path + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("'many'"), std::string::npos) << message;
}

TEST_F(OptionsTest, AByteOrderMarkBeforeTheFirstLineIsNotPartOfIt) {
  const std::string path = write_config("\xEF\xBB\xBF[train]\nbatch_size = 16\n");
  EXPECT_EQ(error_of({"--config", path}), "");
  EXPECT_EQ(options.batch_size, 16);
}

TEST_F(OptionsTest, UnknownConfigKeyIsAnErrorUnlessAnotherCommandDeclaresIt) {
  std::string path = write_config("[eval]\nscales = 1.0\n[train]\nbatch_sise = 2\n");
  std::string message = error_of({"--config", path}, {"eval.scales"});
  EXPECT_NE(message.find("unknown option 'train.batch_sise' in config file"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean --train.batch_size?"), std::string::npos) << message;

  std::string shared = write_config("[eval]\nscales = 1.0\n[train]\nbatch_size = 2\n");
  EXPECT_EQ(error_of({"--config", shared}, {"eval.scales"}), "");
  EXPECT_EQ(options.batch_size, 2);
}

TEST_F(OptionsTest, UnreadableConfigFileIsAnError) {
  std::string message = error_of({"--config", "/nonexistent/atrous.ini"});
  EXPECT_NE(message.find("config file '/nonexistent/atrous.ini' (from --config) cannot be read"),
            std::string::npos)
      << message;
}

TEST_F(OptionsTest, RepeatedOrStrayArgumentsAreErrors) {
  EXPECT_NE(error_of({"--train.batch_size", "1", "--train.batch_size", "2"}).find("more than once"),
            std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("unexpected argument"), std::string::npos);
}

TEST_F(OptionsTest, HelpListsEveryOptionWithDefaultAndAllowedValues) {
  std::string help = options_help(table);
  EXPECT_NE(
      help.find("--train.batch_size INT\n      images per rank\n      default: 8; allowed: an integer >= 1"),
      std::string::npos)
      << help;
  EXPECT_NE(help.find("--optim.learning_rate FLOAT"), std::string::npos) << help;
  EXPECT_NE(help.find("--config FILE"), std::string::npos) << help;
}

// A component with choice options: an enum and a string.
enum class Fruit { apple, pear, quince };

struct ShopOptions {
  Fruit fruit = Fruit::pear;
  std::string flavour = "sweet";

  static void declare(OptionTable& table, ShopOptions& options) {
    table.add_choice(
        "shop.fruit", &options.fruit, Fruit::pear, "what to buy",
        ChoiceValues<Fruit>{{"apple", Fruit::apple}, {"pear", Fruit::pear}, {"quince", Fruit::quince}});
    table.add_choice("shop.flavour", &options.flavour, std::string("sweet"), "how it tastes",
                     ChoiceValues<std::string>{{"sweet", "sweet"}, {"sour", "sour"}});
  }
};

class ChoiceOptionsTest : public OptionsTest {
 protected:
  void SetUp() override { ShopOptions::declare(table, shop); }
  ShopOptions shop;
};

TEST_F(ChoiceOptionsTest, HelpListsTheNamesAndTheDefault) {
  const std::string help = options_help(table);
  EXPECT_NE(
      help.find(
          "--shop.fruit CHOICE\n      what to buy\n      default: pear; allowed: apple, pear or quince"),
      std::string::npos)
      << help;
  EXPECT_NE(help.find("default: sweet; allowed: sweet or sour"), std::string::npos) << help;
}

TEST_F(ChoiceOptionsTest, DefaultsAndGivenNamesSetTheTargets) {
  parse_options(table, {});
  EXPECT_EQ(shop.fruit, Fruit::pear);
  EXPECT_EQ(shop.flavour, "sweet");
  parse_options(table, {"--shop.fruit", "quince", "--shop.flavour=sour"});
  EXPECT_EQ(shop.fruit, Fruit::quince);
  EXPECT_EQ(shop.flavour, "sour");
  EXPECT_EQ(table.find("shop.fruit")->source, OptionSource::command_line);
}

TEST_F(ChoiceOptionsTest, AnUnknownNameIsAnOptionErrorNamingTheOptionAndTheAllowedNames) {
  EXPECT_EQ(
      error_of({"--shop.fruit", "banana"}),
      "option --shop.fruit = banana is not allowed; allowed: apple, pear or quince (on the command line)");
  EXPECT_EQ(error_of({"--shop.flavour", "Sweet"}),
            "option --shop.flavour = Sweet is not allowed; allowed: sweet or sour (on the command line)");
  const std::string config = write_config("[shop]\nfruit = plum\n");
  EXPECT_EQ(error_of({"--config", config}),
            "option --shop.fruit = plum is not allowed; allowed: apple, pear or "
            "quince (in config file '" +
                config + "')");
  // The command line overrides a bad file value, so only a value in effect is checked.
  EXPECT_EQ(error_of({"--config", config, "--shop.fruit", "apple"}), "");
}

TEST_F(ChoiceOptionsTest, AConfigFileValueRoundTripsThroughTheEffectiveConfig) {
  parse_options(table, {"--config", write_config("[shop]\nfruit = apple\nflavour = sour\n")});
  EXPECT_EQ(shop.fruit, Fruit::apple);
  EXPECT_EQ(table.find("shop.fruit")->source, OptionSource::config_file);
  const std::string ini = effective_config(table);
  const std::string from = "  # config file '" + table.config_files().front() + "'\n";
  EXPECT_NE(ini.find("[shop]\nfruit = apple" + from + "flavour = sour" + from), std::string::npos) << ini;

  OptionTable again;
  ShopOptions reread;
  ShopOptions::declare(again, reread);
  parse_options(again, {"--config", write_config(ini)});
  EXPECT_EQ(reread.fruit, Fruit::apple);
  EXPECT_EQ(reread.flavour, "sour");
}

TEST(OptionValidation, ConsumersRejectOutOfRangeValuesByName) {
  distributed::WorldOptions world;
  world.threads = -2;
  try {
    world.validate();
    FAIL() << "dist.threads = -2 accepted";
  } catch (const OptionError& error) {
    EXPECT_EQ(error.message(),
              "option --dist.threads = -2 is not allowed; allowed: an integer from 0 to 1024");
  }
  world.threads = 0;
  EXPECT_NO_THROW(world.validate());
  // A choice is checked while parsing.
  OptionTable table;
  distributed::WorldOptions::declare(table, world);
  EXPECT_THROW(parse_options(table, {"--dist.device", "gpu"}), OptionError);
  parse_options(table, {"--dist.device", "cuda"});
  EXPECT_EQ(world.device, distributed::DeviceChoice::cuda);
}

TEST(OptionFormatting, NumbersUseTheShortestExactForm) {
  EXPECT_EQ(format_option_value(0.007), "0.007");
  EXPECT_EQ(format_option_value(1e-5), "1e-05");
  EXPECT_EQ(format_option_value(2.0), "2");
  EXPECT_EQ(format_option_value(true), "true");
}

TEST(ClosestName, FindsNearTyposOnly) {
  std::vector<std::string> names = {"dist.threads", "dist.device", "log.level"};
  EXPECT_EQ(closest_name("dist.thread", names), "dist.threads");
  EXPECT_EQ(closest_name("log.lvl", names), "log.level");
  EXPECT_EQ(closest_name("model.backbone", names), "");
}

}  // namespace
}  // namespace atrous
