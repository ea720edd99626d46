#include "atrous/model/deeplab.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "atrous/core/options.h"
#include "atrous/model/backbone_registry.h"
#include "atrous/model/batch_norm.h"

namespace atrous::model {
namespace {

void validate(const ModelOptions& options) {
  const BackboneEntry& backbone = find_backbone(options.backbone);
  ATROUS_CHECK_OPTION(
      options.output_stride == 8 || options.output_stride == 16 || options.output_stride == 32,
      "model.output_stride", options.output_stride, "8, 16 or 32");
  ATROUS_CHECK_OPTION(options.decoder_output_stride == 4 || options.decoder_output_stride == 0,
                      "model.decoder_output_stride", options.decoder_output_stride, "4 or 0");
  ATROUS_CHECK_OPTION(options.dropout >= 0 && options.dropout < 1, "model.dropout", options.dropout,
                      "a number in [0, 1)");
  ATROUS_CHECK_OPTION(options.aux_loss_weight >= 0 && std::isfinite(options.aux_loss_weight),
                      "model.aux_loss_weight", options.aux_loss_weight, "a finite number >= 0");
  ATROUS_CHECK_OPTION(options.bn_momentum > 0 && options.bn_momentum <= 1, "model.bn_momentum",
                      options.bn_momentum, "a number in (0, 1]");
  if (options.aux_head && !(options.head == DeepLabHead::deeplabv3 && backbone.has_aux_features))
    bad_option("model.aux_head", options.aux_head,
               "true only with model.head = deeplabv3 and model.backbone " +
                   backbone_names_where([](const BackboneEntry& entry) { return entry.has_aux_features; }),
               ATROUS_HERE);
}

}  // namespace

DeepLabImpl::DeepLabImpl(const ModelOptions& options, int64_t num_classes)
    : torch::nn::Module("DeepLab"), options_(options), num_classes_(num_classes) {
  validate(options);
  ATROUS_CHECK_OPTION(num_classes >= 1, "model.num_classes", num_classes, "an integer >= 1");
  pyramid_ = resolved_image_pyramid(options);
  align_corners_ = resolved_logits_align_corners(options);
  const std::vector<int64_t> rates = resolved_atrous_rates(options);
  backbone_ =
      register_module("backbone", find_backbone(options.backbone)
                                      .make(BackboneSpec{options.output_stride, resolved_multi_grid(options),
                                                         options.resnet_stem, options.bn_momentum}));
  switch (options.head) {
    case DeepLabHead::deeplabv3plus:
      build_deeplabv3plus(rates);
      break;
    case DeepLabHead::deeplabv3:
      build_deeplabv3(rates);
      break;
  }
  use_atrous_conv_path(*this, options.atrous_conv);
}

void DeepLabImpl::build_deeplabv3plus(const std::vector<int64_t>& rates) {
  const BackboneChannels channels = backbone_->channels();
  aspp_ = register_module("aspp", Aspp(AsppSpec{channels.out, 256, rates, options_.aspp_separable,
                                                options_.dropout, options_.bn_momentum}));
  int64_t head_channels = 256;
  logits_stride_ = options_.output_stride;
  if (options_.decoder_output_stride > 0) {
    decoder_ =
        register_module("decoder", Decoder(DecoderSpec{256, channels.low_level, 48, 256,
                                                       options_.decoder_separable, options_.bn_momentum}));
    head_channels = decoder_->out_channels();
    logits_stride_ = options_.decoder_output_stride;
  }
  logits_ = register_module("logits", Conv2d(Conv2dSpec{head_channels, num_classes_, 1, 1, 1, 1, true}));
  logits_->init_normal(0.01);
}

void DeepLabImpl::build_deeplabv3(const std::vector<int64_t>& rates) {
  const BackboneChannels channels = backbone_->channels();
  logits_stride_ = options_.output_stride;
  classifier_ = register_module("classifier", LayerSequence());
  classifier_->add(Aspp(
      AsppSpec{channels.out, 256, rates, options_.aspp_separable, options_.dropout, options_.bn_momentum}));
  classifier_->add(Conv2d(Conv2dSpec{256, 256, 3}));
  classifier_->add(BatchNorm2d(256, 1e-5, options_.bn_momentum));
  classifier_->add_relu();
  classifier_->add(Conv2d(Conv2dSpec{256, num_classes_, 1, 1, 1, 1, true}));
  if (options_.aux_head) {
    const int64_t inner = channels.aux / 4;
    aux_classifier_ = register_module("aux_classifier", LayerSequence());
    aux_classifier_->add(Conv2d(Conv2dSpec{channels.aux, inner, 3}));
    aux_classifier_->add(BatchNorm2d(inner, 1e-5, options_.bn_momentum));
    aux_classifier_->add_relu();
    aux_classifier_->add_dropout(0.1);
    aux_classifier_->add(Conv2d(Conv2dSpec{inner, num_classes_, 1, 1, 1, 1, true}));
  }
}

at::Tensor DeepLabImpl::normalise(const at::Tensor& images) const {
  ATROUS_CHECK(images.dim() == 4 && images.size(1) == 3 && images.is_floating_point(),
               "DeepLab needs float RGB images [N, 3, H, W], got ", images.sizes(), " of ", images.dtype());
  if (options_.normalization == InputNormalization::deeplab) return images / 127.5 - 1.0;
  const at::Tensor mean =
      at::tensor({0.485 * 255, 0.456 * 255, 0.406 * 255}, images.options()).view({1, 3, 1, 1});
  const at::Tensor std =
      at::tensor({0.229 * 255, 0.224 * 255, 0.225 * 255}, images.options()).view({1, 3, 1, 1});
  return (images - mean) / std;
}

at::Tensor DeepLabImpl::logits_at_one_scale(const at::Tensor& normalised, at::Tensor* aux) {
  const BackboneFeatures features = backbone_->forward(normalised);
  if (classifier_) {
    if (aux != nullptr && aux_classifier_) *aux = aux_classifier_->forward(features.aux);
    return classifier_->forward(features.out);
  }
  at::Tensor x = aspp_->forward(features.out);
  if (decoder_) x = decoder_->forward(x, features.low_level);
  return logits_->forward(x);
}

ScaleOutputs DeepLabImpl::forward(const at::Tensor& images) {
  const bool want_aux = is_training() && aux_classifier_;
  const double aux_scale =
      std::find(pyramid_.begin(), pyramid_.end(), 1.0) != pyramid_.end() ? 1.0 : pyramid_.front();
  at::Tensor aux;
  bool aux_taken = false;
  ScaleOutputs outputs = multi_scale_logits(
      normalise(images), pyramid_, logits_stride_, options_.merge_method, [&](const at::Tensor& input) {
        const bool this_scale = want_aux && !aux_taken &&
                                input.size(2) == scale_dimension(images.size(2), aux_scale) &&
                                input.size(3) == scale_dimension(images.size(3), aux_scale);
        aux_taken = aux_taken || this_scale;
        return logits_at_one_scale(input, this_scale ? &aux : nullptr);
      });
  if (aux.defined()) {
    const at::Tensor& reference = outputs.back().logits;
    outputs.push_back({"aux", resize_bilinear_aligned(aux, reference.size(2), reference.size(3)),
                       options_.aux_loss_weight});
  }
  for (ScaleOutput& output : outputs) output.align_corners = align_corners_;
  return outputs;
}

at::Tensor DeepLabImpl::upsample_logits(const at::Tensor& logits, int64_t height, int64_t width) const {
  if (logits.size(2) == height && logits.size(3) == width) return logits;
  return at::upsample_bilinear2d(logits, {height, width}, align_corners_);
}

int64_t num_classes_in_state_dict(const std::map<std::string, at::Tensor>& state_dict,
                                  const std::string& source) {
  for (const char* key : {"logits.bias", "classifier.4.bias"})
    if (auto found = state_dict.find(key); found != state_dict.end()) return found->second.size(0);
  throw UserError(to_text("'", source, "' has no logits layer (logits.bias or classifier.4.bias)"),
                  ATROUS_HERE);
}

std::vector<std::string> DeepLabImpl::logits_prefixes() const {
  if (classifier_) {
    std::vector<std::string> prefixes{"classifier.4."};
    if (aux_classifier_) prefixes.push_back("aux_classifier.4.");
    return prefixes;
  }
  return {"logits."};
}

}  // namespace atrous::model
