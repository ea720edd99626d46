#pragma once
// The model in a checkpoint (section "model", train/checkpoint.h): every parameter and buffer by its
// name, a state dict (torch.load(file)["model"] loads into a PyTorch model with the same names).
//
// restore() imports them through model/weight_import.h with scope "model": every tensor of the
// network must be there with its shape, and a tensor the network lacks is refused, each named with
// the checkpoint.

#include "atrous/train/checkpoint_section.h"

namespace atrous::model {
class DeepLabImpl;
}

namespace atrous::train {

class ModelSection final : public CheckpointSection {
 public:
  explicit ModelSection(model::DeepLabImpl& net) : net_(net) {}

  void save(SectionValues& out) const override;
  void restore(const SectionValues& values) override;

 private:
  model::DeepLabImpl& net_;
};

}  // namespace atrous::train
