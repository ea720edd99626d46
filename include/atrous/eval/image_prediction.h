#pragma once
// One image of `atrous infer`, predicted and written at its original size.
//
// predict_image: the Predictor's averaged probabilities (eval/predictor.h) at the image's size,
// upsampled to the original size by the model's logits convention (a pack sample's valid region
// goes back to its size before packing; a file is predicted at its own size), and their argmax; the
// image itself resized to the original size (TF's bilinear resize, aligned corners) for the overlay;
// and, when asked, the raw single-scale logits upsampled to the original size by the model's
// convention (eval/logits_file.h stores them).
// write_mask_images: FOLDER/<name>.png, the classes as a palette PNG, and FOLDER/<name>_overlay.png,
// their colours blended over the image (eval/colour_masks.h); '/' in the name becomes '_'.
// UserError naming the file when one cannot be written.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "atrous/data/image_inputs.h"
#include "atrous/eval/predictor.h"

namespace atrous::eval {

struct ImagePrediction {
  at::Tensor image;   // [H, W, 3] uint8: the input at the original size
  at::Tensor mask;    // [H, W] uint8: the predicted classes
  at::Tensor logits;  // [C, H, W] float32 on the CPU when asked for, else undefined
};

// device: where the predictor's model is.
ImagePrediction predict_image(Predictor& predictor, const data::InputImage& input, const c10::Device& device,
                              bool with_logits);

void write_mask_images(const std::string& folder, const std::string& name, const ImagePrediction& prediction,
                       const std::vector<std::array<uint8_t, 3>>& palette);

}  // namespace atrous::eval
