#pragma once
// `atrous infer --config FILE --eval.checkpoint PATH --infer.input PATH[,PATH...] --infer.out DIR
//  [--infer.logits_out FILE.h5] [--infer.descriptor FILE] [--eval.scales ...] [--eval.flip true]`
//
// Inputs: image files (JPEG/PNG), folders of them, or packs (each sample's valid region, predicted
// and then resized back to its size before packing; data/image_inputs.h). For every image, at its
// original size (eval/image_prediction.h):
// OUT/<name>.png, the predicted classes as a palette PNG (the dataset's palette: the pack's, the
// descriptor's, else VOC's), and OUT/<name>_overlay.png, the colours blended over the image; <name>
// is a file's stem or a sample's name. Inputs that would write the same file (x.jpg and x.png) are
// refused before any work, naming both (eval/image_prediction.h); an image given twice is predicted
// once, and the count printed at the end is of images predicted.
// The model is the one the checkpoint was trained with (its stored model.* options; options given now
// override them, with a warning), as for eval.
// --infer.logits_out writes the raw single-scale logits (eval/logits_file.h); it needs one process.
// The class count comes from the checkpoint; the model from the model.* options
// (eval/predictor_loader.h). Images are shared out over the ranks.

#include "atrous/cli/command.h"
#include "atrous/eval/predictor.h"
#include "atrous/eval/predictor_loader.h"
#include "atrous/model/model_options.h"

namespace atrous::cli {

class InferCommand : public Command {
 public:
  std::string name() const override { return "infer"; }
  std::string summary() const override {
    return "predict images, folders or packs: colour PNG masks, overlays and optionally raw logits";
  }
  void declare(OptionTable& table) override;
  std::optional<OptionLayer> inherited_options() const override {
    return checkpoint_.trained_model_options();
  }
  int run(const CommandContext& context) override;

 private:
  model::ModelOptions model_;
  eval::PredictOptions predict_;
  eval::CheckpointInputOptions checkpoint_;
  std::string input_, out_, logits_out_, descriptor_;
};

}  // namespace atrous::cli
