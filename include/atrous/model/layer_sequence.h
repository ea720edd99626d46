#pragma once
// LayerSequence: layers applied in order, registered under their positions "0", "1", ... as
// torchvision's nn.Sequential does, so that "features.1.conv.0.1.weight" names the same tensor in
// both. Parameter-free steps (ReLU, ReLU6, dropout, pooling) take a position without registering a
// module, exactly as they do in torchvision's state dicts.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>
#include <vector>

namespace atrous::model {

class LayerSequenceImpl : public torch::nn::Module {
 public:
  using Step = std::function<at::Tensor(const at::Tensor&)>;

  LayerSequenceImpl() : torch::nn::Module("LayerSequence") {}

  // Registers `layer` (a module holder with at::Tensor forward(const at::Tensor&)) at the next position.
  template <class Holder>
  Holder add(Holder layer) {
    auto module = layer.ptr();
    register_module(std::to_string(steps_.size()), module);
    steps_.push_back({[module](const at::Tensor& x) { return module->forward(x); }, ""});
    return layer;
  }
  void add_relu();
  void add_relu6();
  void add_dropout(double probability);  // active in training mode only
  void add_global_average_pool();        // [N, C, H, W] -> [N, C, 1, 1]

  at::Tensor forward(const at::Tensor& input);
  // Steps [begin, end) only.
  at::Tensor forward_range(const at::Tensor& input, size_t begin, size_t end);
  size_t size() const { return steps_.size(); }
  void pretty_print(std::ostream& stream) const override;

 private:
  void add_step(std::string description, Step step, bool in_place = false);

  struct Entry {
    Step step;
    std::string description;  // empty for registered modules
    bool in_place = false;
  };
  std::vector<Entry> steps_;
};

TORCH_MODULE(LayerSequence);

}  // namespace atrous::model
