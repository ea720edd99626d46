#include "atrous/train/checkpoint.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/core/output_file.h"
#include "atrous/core/torch_zip.h"

namespace atrous::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* format_name = "atrous-checkpoint";
constexpr int64_t format_version = 2;

c10::impl::GenericDict tensor_dict(const std::map<std::string, at::Tensor>& tensors) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu().contiguous());
  return dict;
}

std::map<std::string, at::Tensor> tensor_map(const c10::IValue& value, const std::string& path,
                                             const char* key) {
  const UserError not_tensors(to_text("checkpoint '", path, "': entry '", key, "' is not a dict of tensors"),
                              ATROUS_HERE);
  if (!value.isGenericDict()) throw not_tensors;
  std::map<std::string, at::Tensor> tensors;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) throw not_tensors;
    tensors[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return tensors;
}

// The step of a file named exactly step-<n>.pt as save_checkpoint() names them (n in decimal, no
// leading zeros), else -1: a user's copy (step-2-best.pt, step-02.pt, step-2.pt.bak) is never taken
// for a checkpoint, so it is neither pruned nor resumed from.
int64_t step_of(const fs::path& file) {
  const std::string name = file.filename().string();
  if (name.size() < 9 || name.size() > 26 || name.rfind("step-", 0) != 0) return -1;
  int64_t step = 0;
  for (size_t i = 5; i < name.size() - 3; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    step = step * 10 + (name[i] - '0');
  }
  return name == "step-" + std::to_string(step) + ".pt" ? step : -1;
}

// The optimizer's state: version 1 holds SGD's velocities by parameter name (written before
// optimizers were registered), version 2 the optimizer's name, step count and named state.
template <class Get, class Integer>
OptimizerState optimizer_state(int64_t version, const Get& get, const Integer& integer,
                               const std::string& path) {
  OptimizerState state;
  if (version == 1) {
    state.optimizer = "sgd";
    for (const auto& [name, tensor] : tensor_map(get("velocity"), path, "velocity"))
      state.tensors["velocity/" + name] = tensor;
    return state;
  }
  const c10::IValue name = get("optimizer");
  if (!name.isString() || integer("optimizer_steps") < 0)
    throw UserError(
        to_text("'", path, "' is not an atrous checkpoint this build reads: 'optimizer' is not text ",
                "or 'optimizer_steps' is negative"),
        ATROUS_HERE);
  state.optimizer = name.toStringRef();
  state.steps = integer("optimizer_steps");
  state.tensors = tensor_map(get("optimizer_state"), path, "optimizer_state");
  return state;
}

}  // namespace

void CheckpointOptions::declare(OptionTable& table, CheckpointOptions& options) {
  table.add("ckpt.every_steps", &options.every_steps, 0, "write a checkpoint every N steps; 0: not by steps",
            "an integer >= 0");
  table.add("ckpt.every_minutes", &options.every_minutes, 0.0,
            "write a checkpoint every M minutes; 0: not by time", "a number >= 0");
  table.add("ckpt.keep", &options.keep, 3, "checkpoints kept (the newest)", "an integer >= 1");
}

void CheckpointOptions::validate() const {
  ATROUS_CHECK_OPTION(every_steps >= 0, "ckpt.every_steps", every_steps, "an integer >= 0");
  ATROUS_CHECK_OPTION(every_minutes >= 0, "ckpt.every_minutes", every_minutes, "a number >= 0");
  ATROUS_CHECK_OPTION(keep >= 1, "ckpt.keep", keep, "an integer >= 1");
}

namespace {

// The names of the floating-point tensors of `checkpoint` holding an infinity or a NaN.
std::vector<std::string> non_finite_tensors(const Checkpoint& checkpoint) {
  std::vector<std::string> names;
  const auto check = [&](const std::map<std::string, at::Tensor>& tensors, const std::string& prefix) {
    for (const auto& [name, tensor] : tensors)
      if (tensor.defined() && at::isFloatingType(tensor.scalar_type()) &&
          !at::isfinite(tensor).all().item<bool>())
        names.push_back(prefix + name);
  };
  check(checkpoint.model, "");
  check(checkpoint.optimizer.tensors, "optimizer state ");
  return names;
}

// Values no run writes: a position before the start or without ranks, or a diverged run's tensors.
void check_values(const Checkpoint& checkpoint, const std::string& path) {
  if (checkpoint.step < 0 || checkpoint.epoch < 0 || checkpoint.position < 0 || checkpoint.world_size < 1)
    throw UserError(
        to_text("'", path, "' is not an atrous checkpoint this build reads: step ", checkpoint.step,
                ", epoch ", checkpoint.epoch, ", position ", checkpoint.position, " and world_size ",
                checkpoint.world_size, " are not a training position (each >= 0, world_size >= 1)"),
        ATROUS_HERE);
  const std::vector<std::string> non_finite = non_finite_tensors(checkpoint);
  if (!non_finite.empty())
    throw UserError(to_text("checkpoint '", path, "' comes from a diverged run: ", non_finite.size(),
                            " tensors hold values that are not finite (inf or NaN), the first ",
                            non_finite[0], "; use an earlier checkpoint of the run"),
                    ATROUS_HERE);
}

}  // namespace

std::string save_checkpoint(const std::string& run_dir, const Checkpoint& checkpoint, int keep) {
  const std::vector<std::string> non_finite = non_finite_tensors(checkpoint);
  if (!non_finite.empty() || !std::isfinite(checkpoint.loss_scale))
    throw UserError(
        to_text(
            "the training diverged: at step ", checkpoint.step, " ", non_finite.size(),
            " tensors hold values that are not finite (inf or NaN)",
            non_finite.empty() ? std::string(", and so does the loss scale") : ", the first " + non_finite[0],
            ". No checkpoint was written and the run's checkpoints are kept (`latest` names the last good "
            "one): resume from it with a smaller optim.lr or optim.weight_decay, or clip with "
            "optim.max_grad_norm"),
        ATROUS_HERE);
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", std::string(format_name));
  dict.insert("version", format_version);
  dict.insert("step", checkpoint.step);
  dict.insert("epoch", checkpoint.epoch);
  dict.insert("position", checkpoint.position);
  dict.insert("world_size", checkpoint.world_size);
  dict.insert("seed", checkpoint.seed);
  dict.insert("config", checkpoint.config);
  dict.insert("model", tensor_dict(checkpoint.model));
  dict.insert("optimizer", checkpoint.optimizer.optimizer);
  dict.insert("optimizer_steps", checkpoint.optimizer.steps);
  dict.insert("optimizer_state", tensor_dict(checkpoint.optimizer.tensors));
  dict.insert("loss_scale", checkpoint.loss_scale);
  dict.insert("loss_scale_good_steps", checkpoint.loss_scale_good_steps);
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));

  const fs::path folder = fs::path(run_dir) / "checkpoints";
  fs::create_directories(folder);
  const fs::path file = folder / ("step-" + std::to_string(checkpoint.step) + ".pt");
  write_file_atomically(file.string(), std::string(bytes.begin(), bytes.end()));
  write_file_atomically((folder / "latest").string(), file.filename().string() + "\n");

  // Pruning: only checkpoints up to this one. Later steps belong to the run this one rewinds (resumed
  // from an earlier checkpoint file); they are not this run's to delete, and `latest` now names this one.
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (step_of(entry.path()) >= 0 && step_of(entry.path()) <= checkpoint.step) files.push_back(entry.path());
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return step_of(a) > step_of(b); });
  for (size_t i = size_t(keep); i < files.size(); ++i) fs::remove(files[i]);
  return file.string();
}

Checkpoint load_checkpoint(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))
    throw UserError(to_text("checkpoint '", path,
                            "' is a directory, not a checkpoint file; give a file such as "
                            "RUN_DIR/checkpoints/step-N.pt (or train.resume auto to take the run's latest)"),
                    ATROUS_HERE);
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw UserError(to_text("checkpoint '", path, "' does not exist or cannot be read"), ATROUS_HERE);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = read_torch_zip(bytes);
  } catch (const std::exception& error) {
    const std::string what = error.what();
    throw UserError(to_text("checkpoint '", path, "' is damaged, truncated or not a checkpoint (",
                            what.substr(0, what.find('\n')), "); resume from an earlier one"),
                    ATROUS_HERE);
  }
  auto fail = [&](const std::string& why) -> UserError {
    return UserError(to_text("'", path, "' is not an atrous checkpoint this build reads: ", why),
                     ATROUS_HERE);
  };
  if (!value.isGenericDict()) throw fail("it holds no dict");
  const auto dict = value.toGenericDict();
  auto get = [&](const char* key) {
    if (!dict.contains(key)) throw fail(to_text("no '", key, "' entry"));
    return dict.at(key);
  };
  auto integer = [&](const char* key) {  // toInt() of another type would throw LibTorch's c10::Error
    if (!get(key).isInt()) throw fail(to_text("'", key, "' is not an integer"));
    return get(key).toInt();
  };
  if (!get("format").isString() || get("format").toStringRef() != format_name)
    throw fail("wrong format name");
  const int64_t version = integer("version");
  if (version != 1 && version != format_version)
    throw fail(to_text("version ", version, ", this build reads 1 to ", format_version));
  Checkpoint checkpoint;
  checkpoint.step = integer("step");
  checkpoint.epoch = integer("epoch");
  checkpoint.position = integer("position");
  checkpoint.world_size = integer("world_size");
  checkpoint.seed = integer("seed");
  if (!get("config").isString()) throw fail("'config' is not text");
  checkpoint.config = get("config").toStringRef();
  checkpoint.model = tensor_map(get("model"), path, "model");
  checkpoint.optimizer = optimizer_state(version, get, integer, path);
  if (dict.contains("loss_scale")) {  // written since fp16 training; older checkpoints have none
    if (!dict.at("loss_scale").isDouble() || !dict.contains("loss_scale_good_steps") ||
        !dict.at("loss_scale_good_steps").isInt())
      throw fail("loss_scale is not a number");
    checkpoint.loss_scale = dict.at("loss_scale").toDouble();
    checkpoint.loss_scale_good_steps = dict.at("loss_scale_good_steps").toInt();
  }
  check_values(checkpoint, path);
  return checkpoint;
}

LatestCheckpoint latest_checkpoint(const std::string& run_dir) {
  const fs::path folder = fs::path(run_dir) / "checkpoints";
  std::error_code error;
  if (!fs::is_directory(folder, error)) return {};
  std::ifstream pointer(folder / "latest");
  std::string name;
  if (pointer) std::getline(pointer, name);
  // A name, not a path: `latest` never leads out of the checkpoints folder.
  const bool plain_name = !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
  if (plain_name && fs::is_regular_file(folder / name, error)) return {(folder / name).string(), ""};
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(folder, error))
    if (step_of(entry.path()) >= 0 && (newest.empty() || step_of(entry.path()) > step_of(newest)))
      newest = entry.path();
  if (newest.empty() && fs::exists(folder / "latest", error))  // written only after a checkpoint was
    throw UserError(
        to_text("train.run_dir '", run_dir, "' held checkpoints (", (folder / "latest").string(),
                name.empty() ? " is empty" : " names '" + name + "'", ") but none is left, so the run ",
                "cannot resume, and starting it over would drop its metrics.jsonl history; restore the ",
                "checkpoints, or start afresh in a new train.run_dir (or move this run's files away)"),
        ATROUS_HERE);
  if (newest.empty()) return {};
  const std::string why = !fs::exists(folder / "latest", error) ? "is missing"
                          : name.empty()                        ? "is empty"
                          : !plain_name ? "names '" + name + "', which is not a file name in that folder"
                                        : "names '" + name + "', which does not exist";
  return {newest.string(), to_text((folder / "latest").string(), " ", why,
                                   "; the newest checkpoint there is ", newest.filename().string())};
}

}  // namespace atrous::train
