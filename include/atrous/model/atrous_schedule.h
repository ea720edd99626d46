#pragma once
// AtrousSchedule: the output-stride rule of TF DeepLab (and torchvision's
// replace_stride_with_dilation), applied unit by unit while a backbone is built.
//
// Units are visited in order with the stride they would have. While the cumulative stride is below
// the target output stride, a unit keeps its stride. Once it has reached the target, the unit runs
// with stride 1 and the current dilation, and its stride multiplies the dilation of every LATER unit.
// So at output stride 16, ResNet's layer4 block 0 has stride 1 and dilation 1, blocks 1 and 2
// dilation 2 (torchvision's `previous_dilation`), and 513 -> 33 logits.

#include <cstdint>

namespace atrous::model {

struct UnitGeometry {
  int64_t stride = 1;
  int64_t dilation = 1;
};

class AtrousSchedule {
 public:
  // output_stride: 8, 16 or 32 (checked by the model options).
  explicit AtrousSchedule(int64_t output_stride) : output_stride_(output_stride) {}

  // The geometry of the next unit, which would have `stride` in a plain network.
  UnitGeometry next(int64_t stride);
  // The geometry a unit of stride 1 gets now.
  UnitGeometry current() const { return {1, dilation_}; }
  int64_t cumulative_stride() const { return cumulative_stride_; }

 private:
  int64_t output_stride_;
  int64_t cumulative_stride_ = 1;
  int64_t dilation_ = 1;
};

}  // namespace atrous::model
