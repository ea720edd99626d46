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
constexpr int64_t format_version = 3;

UserError unreadable(const std::string& path, const std::string& why) {
  return UserError(to_text("'", path, "' is not an atrous checkpoint this build reads: ", why), ATROUS_HERE);
}

c10::impl::GenericDict tensor_dict(const SectionValues::Tensors& tensors) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu().contiguous());
  return dict;
}

c10::IValue to_ivalue(const SectionValues& section) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  for (const auto& [key, value] : section.values()) {
    if (const auto* integer = std::get_if<int64_t>(&value))
      dict.insert(key, *integer);
    else if (const auto* real = std::get_if<double>(&value))
      dict.insert(key, *real);
    else if (const auto* text = std::get_if<std::string>(&value))
      dict.insert(key, *text);
    else if (const auto* tensor = std::get_if<at::Tensor>(&value))
      dict.insert(key, tensor->detach().cpu().contiguous());
    else
      dict.insert(key, tensor_dict(std::get<SectionValues::Tensors>(value)));
  }
  return dict;
}

std::map<std::string, at::Tensor> tensor_map(const c10::IValue& value, const std::string& path,
                                             const std::string& key) {
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

// A version-3 section: a dict of integers, reals, text, tensors and dicts of tensors.
void read_section(const std::string& name, const c10::IValue& value, CheckpointContents& contents) {
  const std::string path = contents.file();
  const auto fail = [&](const std::string& why) { return unreadable(path, why); };
  if (!value.isGenericDict()) throw fail(to_text("section '", name, "' is not a dict"));
  SectionValues& section = contents.add(name);
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) throw fail(to_text("section '", name, "' has a key that is not text"));
    const std::string& key = entry.key().toStringRef();
    const c10::IValue& item = entry.value();
    if (item.isInt())
      section.set(key, item.toInt());
    else if (item.isDouble())
      section.set(key, item.toDouble());
    else if (item.isString())
      section.set(key, item.toStringRef());
    else if (item.isTensor())
      section.set(key, item.toTensor());
    else if (item.isGenericDict())
      section.set(key, tensor_map(item, path, name + "." + key));
    else
      throw fail(to_text("'", key, "' in section '", name, "' is a ", item.tagKind(),
                         ", a value no checkpoint holds"));
  }
}

// Versions 1 and 2, one flat dict, read into the sections version 3 writes (train/checkpoint.h).
// Version 1 holds SGD's velocities by parameter name (written before optimizers were registered),
// version 2 the optimizer's name, step count and named state.
void read_flat_checkpoint(int64_t version, const c10::impl::GenericDict& dict, CheckpointContents& contents) {
  const std::string path = contents.file();
  const auto fail = [&](const std::string& why) { return unreadable(path, why); };
  const auto get = [&](const char* key) {
    if (!dict.contains(key)) throw fail(to_text("no '", key, "' entry"));
    return dict.at(key);
  };
  const auto integer = [&](const char* key) {  // toInt() of another type would throw LibTorch's c10::Error
    if (!get(key).isInt()) throw fail(to_text("'", key, "' is not an integer"));
    return get(key).toInt();
  };
  SectionValues& run = contents.add("run");
  run.set("step", integer("step"));
  if (!get("config").isString()) throw fail("'config' is not text");
  run.set("config", get("config").toStringRef());
  SectionValues& data = contents.add("data");
  for (const char* key : {"seed", "world_size", "epoch", "position"}) data.set(key, integer(key));
  SectionValues& model = contents.add("model");
  for (auto& [name, tensor] : tensor_map(get("model"), path, "model")) model.set(name, tensor);
  SectionValues& optimizer = contents.add("optimizer");
  if (version == 1) {
    SectionValues::Tensors state;
    for (const auto& [name, tensor] : tensor_map(get("velocity"), path, "velocity"))
      state["velocity/" + name] = tensor;
    optimizer.set("name", std::string("sgd"));
    optimizer.set("steps", int64_t(0));
    optimizer.set("state", state);
  } else {
    if (!get("optimizer").isString()) throw fail("'optimizer' is not text");
    optimizer.set("name", get("optimizer").toStringRef());
    optimizer.set("steps", integer("optimizer_steps"));
    optimizer.set("state", tensor_map(get("optimizer_state"), path, "optimizer_state"));
  }
  SectionValues& scaler = contents.add("loss_scaler");
  scaler.set("scale", 0.0);
  scaler.set("good_steps", int64_t(0));
  if (dict.contains("loss_scale")) {  // written since fp16 training; older checkpoints have none
    if (!dict.at("loss_scale").isDouble() || !dict.contains("loss_scale_good_steps") ||
        !dict.at("loss_scale_good_steps").isInt())
      throw fail("loss_scale is not a number");
    scaler.set("scale", dict.at("loss_scale").toDouble());
    scaler.set("good_steps", dict.at("loss_scale_good_steps").toInt());
  }
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

bool holds_non_finite(const at::Tensor& tensor) {
  return tensor.defined() && at::isFloatingType(tensor.scalar_type()) &&
         !at::isfinite(tensor).all().item<bool>();
}

// The values of `contents` that are an infinity or a NaN (a tensor holding one counts), the model's
// first (a diverged run shows in its weights), named as "<parameter>" there and as
// "<section> <key>[ <name>]" in the other sections.
std::vector<std::string> non_finite_values(const CheckpointContents& contents) {
  std::vector<const std::pair<const std::string, SectionValues>*> order;
  for (const auto& section : contents.sections())
    order.insert(section.first == "model" ? order.begin() : order.end(), &section);
  std::vector<std::string> names;
  for (const auto* entry : order)
    for (const auto& [key, value] : entry->second.values()) {
      const std::string& section = entry->first;
      const std::string name = section == "model" ? key : section + " " + key;
      if (const auto* tensor = std::get_if<at::Tensor>(&value); tensor && holds_non_finite(*tensor))
        names.push_back(name);
      if (const auto* real = std::get_if<double>(&value); real && !std::isfinite(*real))
        names.push_back(name);
      if (const auto* tensors = std::get_if<SectionValues::Tensors>(&value))
        for (const auto& [item, tensor] : *tensors)
          if (holds_non_finite(tensor)) names.push_back(name + " " + item);
    }
  return names;
}

}  // namespace

std::string save_checkpoint(const std::string& run_dir, int64_t step, const CheckpointContents& contents,
                            int keep) {
  const std::vector<std::string> non_finite = non_finite_values(contents);
  if (!non_finite.empty())
    throw UserError(
        to_text(
            "the training diverged: at step ", step, " ", non_finite.size(),
            " values are not finite (inf or NaN), the first ", non_finite[0],
            ". No checkpoint was written and the run's checkpoints are kept (`latest` names the last good "
            "one): resume from it with a smaller optim.lr or optim.weight_decay, or clip with "
            "optim.max_grad_norm"),
        ATROUS_HERE);
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", std::string(format_name));
  dict.insert("version", format_version);
  for (const auto& [name, section] : contents.sections()) dict.insert(name, to_ivalue(section));
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));

  const fs::path folder = fs::path(run_dir) / "checkpoints";
  fs::create_directories(folder);
  const fs::path file = folder / ("step-" + std::to_string(step) + ".pt");
  write_file_atomically(file.string(), std::string(bytes.begin(), bytes.end()));
  write_file_atomically((folder / "latest").string(), file.filename().string() + "\n");

  // Pruning: only checkpoints up to this one. Later steps belong to the run this one rewinds (resumed
  // from an earlier checkpoint file); they are not this run's to delete, and `latest` now names this one.
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (step_of(entry.path()) >= 0 && step_of(entry.path()) <= step) files.push_back(entry.path());
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return step_of(a) > step_of(b); });
  for (size_t i = size_t(keep); i < files.size(); ++i) fs::remove(files[i]);
  return file.string();
}

CheckpointContents load_checkpoint(const std::string& path) {
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
  const auto fail = [&](const std::string& why) { return unreadable(path, why); };
  if (!value.isGenericDict()) throw fail("it holds no dict");
  const auto dict = value.toGenericDict();
  if (!dict.contains("format") || !dict.at("format").isString() ||
      dict.at("format").toStringRef() != format_name)
    throw fail("wrong format name");
  if (!dict.contains("version") || !dict.at("version").isInt()) throw fail("'version' is not an integer");
  const int64_t version = dict.at("version").toInt();
  if (version < 1 || version > format_version)
    throw fail(to_text("version ", version, ", this build reads 1 to ", format_version));
  CheckpointContents contents(path);
  if (version < 3) {
    read_flat_checkpoint(version, dict, contents);
  } else {
    for (const auto& entry : dict) {
      if (!entry.key().isString()) throw fail("a key is not text");
      const std::string& key = entry.key().toStringRef();
      if (key != "format" && key != "version") read_section(key, entry.value(), contents);
    }
  }
  const std::vector<std::string> non_finite = non_finite_values(contents);
  if (!non_finite.empty())
    throw UserError(to_text("checkpoint '", path, "' comes from a diverged run: ", non_finite.size(),
                            " values are not finite (inf or NaN), the first ", non_finite[0],
                            "; use an earlier checkpoint of the run"),
                    ATROUS_HERE);
  return contents;
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
