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
// check_distinct_outputs: no two inputs may write one file, or the second would silently replace the
// first while the count of images said otherwise. Inputs whose files would meet are refused before
// any work, naming both and the file: x.jpg and x.png (both write x.png), a.png and a_overlay.png
// (a's overlay is a_overlay.png), a file and a pack sample of one name, samples "a/b" and "a_b".
// So is an output that would replace an input image (infer.out the folder of the inputs, x.png among
// them), an input of empty name (a hidden ".png") and one whose mask's file name would exceed 255
// bytes.

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

// The files write_mask_images writes for `name`: {"<name>.png", "<name>_overlay.png"}, '/' as '_'.
std::array<std::string, 2> mask_file_names(const std::string& name);

// UserError when two of `inputs` would write the same file, or one would replace an input, in
// `folder` (infer.out; see above).
void check_distinct_outputs(const data::ImageInputs& inputs, const std::string& folder);

void write_mask_images(const std::string& folder, const std::string& name, const ImagePrediction& prediction,
                       const std::vector<std::array<uint8_t, 3>>& palette);

}  // namespace atrous::eval
