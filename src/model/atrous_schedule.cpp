#include "atrous/model/atrous_schedule.h"

namespace atrous::model {

UnitGeometry AtrousSchedule::next(int64_t stride) {
  if (stride == 1) return current();
  if (cumulative_stride_ >= output_stride_) {
    const UnitGeometry geometry{1, dilation_};
    dilation_ *= stride;
    return geometry;
  }
  cumulative_stride_ *= stride;
  return {stride, dilation_};
}

}  // namespace atrous::model
