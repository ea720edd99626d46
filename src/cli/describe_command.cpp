#include "atrous/cli/describe_command.h"

#include <ATen/ATen.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "atrous/core/options.h"
#include "atrous/distributed/world.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/model_summary.h"
#include "atrous/model/weight_import.h"

namespace atrous::cli {
namespace {

std::string shape_text(const at::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

}  // namespace

void DescribeCommand::declare(OptionTable& table) {
  model::ModelOptions::declare(table, model_);
  data::AugmentOptions::declare(table, augment_);
  eval::CheckpointInputOptions::declare(table, checkpoint_);
  table.add("describe.depth", &depth_, 3, "levels of the module tree to print", "an integer >= 0");
}

int DescribeCommand::run(const CommandContext& context) {
  std::shared_ptr<model::DeepLabImpl> net;
  context.collective_setup([&] {
    ATROUS_CHECK_OPTION(depth_ >= 0, "describe.depth", depth_, "an integer >= 0");
    augment_.validate();
    if (!checkpoint_.checkpoint.empty() && model_.num_classes == 0) {
      checkpoint_.resolve();
      model_.num_classes = static_cast<int>(model::num_classes_in_state_dict(
          model::read_state_dict(checkpoint_.checkpoint), checkpoint_.checkpoint));
    }
    if (model_.num_classes < 1)
      throw OptionError(
          "atrous describe needs the class count: set --model.num_classes (e.g. 21 for VOC), or give "
          "--eval.checkpoint",
          ATROUS_HERE);
    net = std::make_shared<model::DeepLabImpl>(model_, model_.num_classes);
  });
  if (!context.world.is_root()) return 0;

  net->eval();
  at::NoGradGuard no_grad;
  const int64_t crop = augment_.crop_size;
  const at::Tensor images = at::zeros({1, 3, crop, crop});
  std::cout << model::module_tree(*net, depth_) << "\ncrop " << crop << " x " << crop << ", logits stride "
            << net->logits_stride() << ", " << net->num_classes() << " classes\n";
  const at::Tensor normalised = net->normalise(images);
  for (double scale : model::resolved_image_pyramid(model_)) {
    const int64_t side = model::scale_dimension(crop, scale);
    const at::Tensor input = model::resize_bilinear_aligned(normalised, side, side);
    std::cout << "  " << model::scale_name(scale) << ": input " << side << " x " << side << " -> logits "
              << shape_text(net->logits_at_one_scale(input)) << "\n";
  }
  for (const auto& output : net->forward(images))
    std::cout << "  output " << output.name << ": " << shape_text(output.logits) << "\n";
  std::cout << std::flush;
  return 0;
}

}  // namespace atrous::cli
