#pragma once
// Decoder: DeepLabV3+'s refinement at output stride 4 (TF DeepLab's refine_by_decoder).
//   project_low_level  1x1 conv 48, BN, ReLU on the backbone's stride-4 features
//   the encoder (ASPP) output is resized bilinearly (align_corners=True) to their size and
//   concatenated before them
//   fuse               two 3x3 convs of 256 with BN and ReLU (separable ones with `separable`)
// The logits layer is not part of it (model/deeplab.h).

#include "atrous/model/layer_sequence.h"

namespace atrous::model {

struct DecoderSpec {
  int64_t encoder_channels = 256;
  int64_t low_level_channels = 0;
  int64_t projection_channels = 48;
  int64_t channels = 256;
  bool separable = false;
  double bn_momentum = 0.1;
};

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const DecoderSpec& spec);
  at::Tensor forward(const at::Tensor& encoder, const at::Tensor& low_level);
  int64_t out_channels() const { return channels_; }

 private:
  int64_t channels_;
  LayerSequence project_low_level_{nullptr}, fuse_{nullptr};
};

TORCH_MODULE(Decoder);

}  // namespace atrous::model
