#include "atrous/distributed/per_channel_combination.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "atrous/core/error.h"

namespace atrous::distributed {
namespace {

// [1, C, 1, ...] in like's dtype and on its device: a per-channel vector that broadcasts over `like`.
at::Tensor broadcastable(const at::Tensor& vector, const at::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[1] = like.size(1);
  return vector.to(like.options()).reshape(shape);
}

at::Tensor with_aten(const at::Tensor& a, const at::Tensor& u, const at::Tensor& b, const at::Tensor& v,
                     const at::Tensor& k) {
  at::Tensor out = at::addcmul(broadcastable(k, u), v, broadcastable(b, u));
  return out.addcmul_(u, broadcastable(a, u));
}

// NCHW: planes of `inner` elements, plane p belongs to channel p % channels.
template <class T>
void planes(const T* a, const T* u, const T* b, const T* v, const T* k, T* out, int64_t planes_count,
            int64_t channels, int64_t inner) {
  at::parallel_for(0, planes_count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t c = p % channels;
      const T ac = a[c], bc = b[c], kc = k[c];
      const T* __restrict up = u + p * inner;
      const T* __restrict vp = v + p * inner;
      T* __restrict op = out + p * inner;
      for (int64_t i = 0; i < inner; ++i) op[i] = ac * up[i] + bc * vp[i] + kc;
    }
  });
}

// Channels last: rows of `channels` elements, element i of a row belongs to channel i.
template <class T>
void rows(const T* a, const T* u, const T* b, const T* v, const T* k, T* out, int64_t rows_count,
          int64_t channels) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(channels, 1));
  at::parallel_for(0, rows_count, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* __restrict ur = u + r * channels;
      const T* __restrict vr = v + r * channels;
      T* __restrict orow = out + r * channels;
      for (int64_t c = 0; c < channels; ++c) orow[c] = a[c] * ur[c] + b[c] * vr[c] + k[c];
    }
  });
}

template <class T>
at::Tensor on_cpu(const at::Tensor& a, const at::Tensor& u, const at::Tensor& b, const at::Tensor& v,
                  const at::Tensor& k, bool channels_last) {
  const at::Tensor ac = a.to(u.scalar_type()).contiguous(), bc = b.to(u.scalar_type()).contiguous(),
                   kc = k.to(u.scalar_type()).contiguous();
  at::Tensor out = at::empty_like(u);
  const int64_t channels = u.size(1);
  if (channels_last) {
    rows(ac.data_ptr<T>(), u.data_ptr<T>(), bc.data_ptr<T>(), v.data_ptr<T>(), kc.data_ptr<T>(),
         out.data_ptr<T>(), channels > 0 ? u.numel() / channels : 0, channels);
  } else {
    const int64_t planes_count = u.size(0) * channels;
    planes(ac.data_ptr<T>(), u.data_ptr<T>(), bc.data_ptr<T>(), v.data_ptr<T>(), kc.data_ptr<T>(),
           out.data_ptr<T>(), planes_count, channels, planes_count > 0 ? u.numel() / planes_count : 0);
  }
  return out;
}

}  // namespace

at::Tensor per_channel_combination(const at::Tensor& a, const at::Tensor& u, const at::Tensor& b,
                                   const at::Tensor& v, const at::Tensor& k) {
  ATROUS_ASSERT(u.dim() >= 2 && u.sizes() == v.sizes(), "per_channel_combination of ", u.sizes(), " and ",
                v.sizes());
  ATROUS_ASSERT(u.scalar_type() == v.scalar_type() && u.device() == v.device(),
                "per_channel_combination: tensors of one dtype and device");
  const int64_t channels = u.size(1);
  ATROUS_ASSERT(a.numel() == channels && b.numel() == channels && k.numel() == channels,
                "per_channel_combination: coefficients of ", channels, " channels");
  const bool cpu = u.is_cpu() && a.is_cpu() && b.is_cpu() && k.is_cpu();
  const bool floating = u.scalar_type() == at::kFloat || u.scalar_type() == at::kDouble;
  const bool four_d = u.dim() == 4;
  const bool nchw = u.is_contiguous() && v.is_contiguous();
  const bool nhwc = four_d && u.is_contiguous(at::MemoryFormat::ChannelsLast) &&
                    v.is_contiguous(at::MemoryFormat::ChannelsLast) && !nchw;
  if (!cpu || !floating || !(nchw || nhwc)) return with_aten(a, u, b, v, k);
  if (u.scalar_type() == at::kFloat) return on_cpu<float>(a, u, b, v, k, nhwc);
  return on_cpu<double>(a, u, b, v, k, nhwc);
}

}  // namespace atrous::distributed
