#include "atrous/model/memory_format.h"

#include <ATen/ATen.h>

namespace atrous::model {

const ChoiceValues<MemoryFormatChoice>& memory_format_choices() {
  static const ChoiceValues<MemoryFormatChoice> choices{{"auto", MemoryFormatChoice::automatic},
                                                        {"contiguous", MemoryFormatChoice::contiguous},
                                                        {"channels_last", MemoryFormatChoice::channels_last}};
  return choices;
}

at::MemoryFormat resolve_memory_format(MemoryFormatChoice choice, const c10::Device& device) {
  switch (choice) {
    case MemoryFormatChoice::contiguous:
      return at::MemoryFormat::Contiguous;
    case MemoryFormatChoice::channels_last:
      return at::MemoryFormat::ChannelsLast;
    case MemoryFormatChoice::automatic:
      break;
  }
  return device.is_cuda() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

void use_memory_format(torch::nn::Module& net, at::MemoryFormat format) {
  at::NoGradGuard no_grad;
  for (at::Tensor& parameter : net.parameters())
    if (parameter.dim() == 4 && !parameter.is_contiguous(format))
      parameter.set_data(parameter.contiguous(format));
}

}  // namespace atrous::model
