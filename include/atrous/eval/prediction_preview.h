#pragma once
// What a model predicts on a few samples of a dataset, as a picture (eval/prediction_grid.h): the
// first `count` samples (all when the dataset holds fewer), each cut to its valid (unpadded)
// region and predicted as the evaluation predicts it (eval/predictor.h: scales, flips, precision).
// `atrous eval --eval.visualize N` writes it as a PNG; TensorBoard shows it at each evaluation
// during training (train.tensorboard_images).
//
// Not collective: one rank calls it (rank 0), with the model in evaluation mode, where batch norm
// uses its running statistics and communicates nothing. count >= 1.

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "atrous/data/dataset.h"
#include "atrous/eval/predictor.h"

namespace atrous::eval {

// [H, W, 3] uint8 on the CPU. device: where the predictor's model is.
at::Tensor preview_predictions(Predictor& predictor, const data::Dataset& dataset, int64_t count,
                               const c10::Device& device);

}  // namespace atrous::eval
