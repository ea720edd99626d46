#pragma once
// Weight import (--model.init_weights FILE): start a model from a state dict saved by Python,
//   torch.save({k: v for k, v in model.state_dict().items()}, FILE)
// (the zip format, CPU tensors), or from an atrous checkpoint (its "model" entry).
//
// Scopes (model.init_scope):
//   model     the file holds the whole model: every parameter and buffer must be in it with the
//             same shape, and every tensor of the file must be used (torchvision's
//             deeplabv3_resnet50 into model.head = deeplabv3).
//   backbone  the file holds an ImageNet classifier (torchvision's resnet50, mobilenet_v2): every
//             tensor under "backbone." must be in it, as its name without that prefix; the file's
//             other tensors (fc, classifier, features.18) are reported as ignored.
// model.skip_logits leaves the final classifier freshly initialised when its shape differs (a
// different class count; TF's initialize_last_layer=false). Anything else missing, unexpected or of
// another shape is a UserError listing all of them; nothing is copied then.

#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

namespace atrous {
class OptionTable;
}

namespace atrous::model {

struct WeightImportOptions {
  std::string init_weights;          // model.init_weights: a file, or empty
  std::string init_scope = "model";  // model.init_scope: model or backbone
  bool skip_logits = false;          // model.skip_logits

  static void declare(OptionTable& table, WeightImportOptions& options);
};

struct ImportReport {
  std::vector<std::string> loaded;
  std::vector<std::string> missing;     // model tensors the file lacks
  std::vector<std::string> unexpected;  // file tensors the model lacks (model scope)
  std::vector<std::string> ignored;     // file tensors outside the backbone (backbone scope)
  std::vector<std::string> mismatched;  // "name: file [21, 256, 1, 1] vs model [5, 256, 1, 1]"
  std::vector<std::string> skipped_logits;
  std::string summary() const;  // one paragraph for the log
};

// Reads a state dict file: name -> CPU tensor. UserError naming the file when it is missing, not a
// torch.save zip, or not a dict of tensors.
std::map<std::string, at::Tensor> read_state_dict(const std::string& path);

// Copies `weights` into `model`'s parameters and buffers under the rules above.
ImportReport import_weights(torch::nn::Module& model, const std::map<std::string, at::Tensor>& weights,
                            const std::string& scope, const std::vector<std::string>& logits_prefixes,
                            bool skip_logits, const std::string& source);

}  // namespace atrous::model
