#pragma once
// `atrous pack <format> --root DIR --split NAME --out FILE.h5 [--size S] [--compress L] [--limit N]
//  [--skip-bad] [--threads T] [--descriptor FILE]`: a dataset split into one HDF5 pack
// (data/pack_format.h; data/pack_builder.h says how samples are resized, padded and checked).
// The short spellings stand for the pack.* options (`--root` is `--pack.root`), which a config file
// may also set. One process: started on several ranks it refuses, since packing is not parallel
// across ranks (use --threads). On a terminal a progress bar shows images/s; at the end rank 0 logs
// how many samples were written and skipped.

#include "atrous/cli/command.h"
#include "atrous/data/pack_builder.h"

namespace atrous::cli {

class PackCommand : public Command {
 public:
  std::string name() const override { return "pack"; }
  std::string summary() const override {
    return "pack a dataset split (voc, cityscapes, ade20k, list) into one HDF5 file for training";
  }
  void declare(OptionTable& table) override { data::PackOptions::declare(table, options_); }
  std::vector<std::string> expand_arguments(std::vector<std::string> args) const override;
  int run(const CommandContext& context) override;

 private:
  data::PackOptions options_;
};

}  // namespace atrous::cli
