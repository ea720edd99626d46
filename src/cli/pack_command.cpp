#include "atrous/cli/pack_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <vector>

#include "atrous/build_info.h"
#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/core/output_paths.h"
#include "atrous/distributed/world.h"

namespace atrous::cli {
namespace {

// A progress bar on stderr when it is a terminal: done/total and images/s.
class ProgressBar {
 public:
  ProgressBar() : enabled_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  void update(int64_t done, int64_t total) {
    if (!enabled_) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int width = 30, filled = int(width * done / std::max<int64_t>(total, 1));
    std::fprintf(stderr, "\r[%s%s] %lld/%lld images, %.1f images/s", std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), seconds > 0 ? double(done) / seconds : 0.0);
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::vector<std::string> PackCommand::expand_arguments(std::vector<std::string> args) const {
  static const std::map<std::string, std::string> short_names{{"--root", "--pack.root"},
                                                              {"--split", "--pack.split"},
                                                              {"--out", "--pack.out"},
                                                              {"--size", "--pack.size"},
                                                              {"--compress", "--pack.compress"},
                                                              {"--limit", "--pack.limit"},
                                                              {"--skip-bad", "--pack.skip_bad"},
                                                              {"--threads", "--pack.threads"},
                                                              {"--descriptor", "--pack.descriptor"}};
  std::vector<std::string> expanded;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i == 0 && !args[i].empty() && args[i][0] != '-') {
      expanded.insert(expanded.end(), {"--pack.format", args[i]});
      continue;
    }
    const size_t equals = args[i].find('=');
    auto found = short_names.find(args[i].substr(0, equals));
    expanded.push_back(found == short_names.end()
                           ? args[i]
                           : found->second + (equals == std::string::npos ? "" : args[i].substr(equals)));
  }
  return expanded;
}

int PackCommand::run(const CommandContext& context) {
  data::DatasetDescriptor descriptor;
  std::vector<data::SampleSource> samples;
  context.collective_setup([&] {
    if (context.world.size() > 1)
      throw UserError(to_text("atrous pack runs as one process, not on ", context.world.size(),
                              " ranks; start it without mpirun and use --threads"),
                      ATROUS_HERE);
    options_.validate();
    descriptor = data::read_descriptor(options_.descriptor.empty()
                                           ? std::string(ATROUS_DATASETS_DIR) + "/" + options_.format + ".ini"
                                           : options_.descriptor);
    samples = data::list_samples(options_.format, options_.root, options_.split);
    std::vector<NamedPath> read = {
        {"pack.descriptor", descriptor.path},
        {"pack.split", data::split_list_file(options_.format, options_.root, options_.split)}};
    for (const data::SampleSource& sample : samples) {
      read.push_back({"pack.root", sample.image_path});
      read.push_back({"pack.root", sample.label_path});
    }
    refuse_overwriting_inputs({"pack.out", options_.out}, read);
    check_output_file({"pack.out", options_.out});
  });
  const int threads = options_.threads > 0 ? options_.threads : context.world.threads();
  context.log.info(to_text(
      "packing ", options_.limit > 0 ? std::min<size_t>(options_.limit, samples.size()) : samples.size(), " ",
      options_.format, " samples of split '", options_.split, "' (", descriptor.num_classes,
      " classes, descriptor ", descriptor.path, ") with ", threads, " thread(s)"));
  ProgressBar bar;
  const data::PackSummary summary = data::build_pack(
      options_, descriptor, samples, threads, [&](int64_t done, int64_t total) { bar.update(done, total); });
  for (const auto& reason : summary.skipped) context.log.warn("skipped " + reason);
  context.log.info(to_text("wrote ", options_.out, ": ", summary.written, " samples of ", summary.height,
                           " x ", summary.width, ", ", summary.skipped.size(), " skipped, in ",
                           summary.seconds, " s (", double(summary.written) / std::max(summary.seconds, 1e-9),
                           " images/s)"));
  return 0;
}

}  // namespace atrous::cli
