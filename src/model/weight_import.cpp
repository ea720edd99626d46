#include "atrous/model/weight_import.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/core/torch_zip.h"

namespace atrous::model {
namespace {

const char* const backbone_prefix = "backbone.";

std::string shape_text(const at::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

void append_list(std::ostringstream& text, const char* title, const std::vector<std::string>& names) {
  if (names.empty()) return;
  text << "\n  " << title << " (" << names.size() << "):";
  const size_t shown = std::min<size_t>(names.size(), 20);
  for (size_t i = 0; i < shown; ++i) text << "\n    " << names[i];
  if (shown < names.size()) text << "\n    ... and " << names.size() - shown << " more";
}

// The model's tensors under the scope, keyed by the name the file should use.
std::map<std::string, at::Tensor> scoped_tensors(torch::nn::Module& model, const std::string& scope) {
  std::map<std::string, at::Tensor> tensors;
  auto take = [&](const std::string& name, const at::Tensor& tensor) {
    if (scope == "model")
      tensors[name] = tensor;
    else if (starts_with(name, backbone_prefix))
      tensors[name.substr(std::string(backbone_prefix).size())] = tensor;
  };
  for (const auto& item : model.named_parameters()) take(item.key(), item.value());
  for (const auto& item : model.named_buffers()) take(item.key(), item.value());
  return tensors;
}

}  // namespace

void WeightImportOptions::declare(OptionTable& table, WeightImportOptions& options) {
  table.add("model.init_weights", &options.init_weights, std::string(),
            "start from this state dict (torch.save(model.state_dict()) or of a dict of tensors) or atrous "
            "checkpoint",
            "a file path, or empty");
  table.add("model.init_scope", &options.init_scope, std::string("model"),
            "model: the file holds the whole model; backbone: an ImageNet classifier for the backbone",
            "model or backbone");
  table.add("model.skip_logits", &options.skip_logits, false,
            "keep the final classifier freshly initialised when its shape differs (other class count)",
            "true or false");
}

std::string ImportReport::summary() const {
  std::ostringstream text;
  text << loaded.size() << " tensors loaded";
  if (!ignored.empty()) text << ", " << ignored.size() << " of the file ignored (outside the backbone)";
  if (!skipped_logits.empty()) text << ", " << skipped_logits.size() << " logits tensors left fresh";
  append_list(text, "missing from the file", missing);
  append_list(text, "in the file but not in the model", unexpected);
  append_list(text, "shapes differ", mismatched);
  append_list(text, "left freshly initialised (model.skip_logits)", skipped_logits);
  return text.str();
}

std::map<std::string, at::Tensor> read_state_dict(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))  // a directory opens, then fails its first read
    throw UserError(
        to_text("weights file '", path,
                "' is a directory; give a file: a checkpoint such as RUN_DIR/checkpoints/step-N.pt, "
                "or a torch.save({name: tensor}) file"),
        ATROUS_HERE);
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw UserError(to_text("cannot read weights file '", path, "': it does not exist or is not readable"),
                    ATROUS_HERE);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::string expected =
      "; expected a torch.save({name: tensor}) file in the zip format, or an atrous checkpoint";
  c10::IValue value;
  try {
    value = read_torch_zip(bytes);
  } catch (const std::exception& error) {
    const std::string what = error.what();
    throw UserError(to_text("weights file '", path, "' could not be read (", what.substr(0, what.find('\n')),
                            ")", expected),
                    ATROUS_HERE);
  }
  if (value.isGenericDict()) {  // an atrous checkpoint keeps the model's tensors under "model"
    const auto dict = value.toGenericDict();
    const c10::IValue key("format");
    const c10::IValue model("model");
    if (dict.contains(key) && dict.at(key).isString() && dict.at(key).toStringRef() == "atrous-checkpoint") {
      if (!dict.contains(model))  // at() would throw std::out_of_range
        throw UserError(to_text("weights file '", path, "' is an atrous checkpoint without a 'model' entry"),
                        ATROUS_HERE);
      value = dict.at(model);
    }
  }
  if (!value.isGenericDict())
    throw UserError(to_text("weights file '", path, "' holds no dict", expected), ATROUS_HERE);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw UserError(to_text("weights file '", path, "' holds a non-tensor entry", expected), ATROUS_HERE);
    tensors[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return tensors;
}

ImportReport import_weights(torch::nn::Module& model, const std::map<std::string, at::Tensor>& weights,
                            const std::string& scope, const std::vector<std::string>& logits_prefixes,
                            bool skip_logits, const std::string& source) {
  ATROUS_CHECK_OPTION(scope == "model" || scope == "backbone", "model.init_scope", scope,
                      "model or backbone");
  const std::map<std::string, at::Tensor> targets = scoped_tensors(model, scope);
  auto is_logits = [&](const std::string& name) {
    for (const auto& prefix : logits_prefixes)
      if (starts_with(name, prefix)) return true;
    return false;
  };
  ImportReport report;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;
  for (const auto& [name, target] : targets) {
    auto found = weights.find(name);
    if (found == weights.end()) {
      (skip_logits && is_logits(name) ? report.skipped_logits : report.missing).push_back(name);
    } else if (found->second.sizes() != target.sizes()) {
      if (skip_logits && is_logits(name))
        report.skipped_logits.push_back(name);
      else
        report.mismatched.push_back(
            to_text(name, ": file ", shape_text(found->second), " vs model ", shape_text(target)));
    } else if (found->second.is_complex() && !target.is_complex()) {  // copy_ would drop the imaginary part
      report.mismatched.push_back(to_text(name, ": file ", found->second.scalar_type(),
                                          " (complex) vs model ", target.scalar_type()));
    } else if (at::isFloatingType(found->second.scalar_type()) &&
               !at::isfinite(found->second).all().item<bool>()) {
      report.mismatched.push_back(to_text(name, ": file values not all finite (inf or NaN)"));
    } else {
      copies.emplace_back(target, found->second);
      report.loaded.push_back(name);
    }
  }
  for (const auto& [name, tensor] : weights)
    if (targets.count(name) == 0) (scope == "model" ? report.unexpected : report.ignored).push_back(name);

  if (!report.missing.empty() || !report.unexpected.empty() || !report.mismatched.empty())
    throw UserError(to_text("weights from '", source, "' do not fit the model (model.init_scope = ", scope,
                            "); nothing was loaded: ", report.summary(),
                            "\n  check model.backbone/model.head/model.num_classes, use model.init_scope = "
                            "backbone for an ImageNet classifier, or model.skip_logits = true for another "
                            "class count"),
                    ATROUS_HERE);
  at::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value);
  return report;
}

}  // namespace atrous::model
