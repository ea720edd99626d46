#include "atrous/distributed/model_replication.h"

#include <ATen/ATen.h>

#include <sstream>

#include "atrous/core/error.h"

namespace atrous::distributed {
namespace {

std::string describe(const NamedTensor& named) {
  std::ostringstream text;
  text << named.name << " " << named.tensor.scalar_type() << " " << named.tensor.sizes();
  return text.str();
}

std::vector<std::string> describe_all(const std::vector<NamedTensor>& tensors) {
  std::vector<std::string> lines;
  for (const auto& named : tensors) lines.push_back(describe(named));
  return lines;
}

// One line per parameter, an empty line, one line per buffer.
struct ModelDescription {
  std::vector<std::string> parameters, buffers;

  std::string text() const {
    std::string joined;
    for (const auto& line : parameters) joined += line + "\n";
    joined += "\n";
    for (const auto& line : buffers) joined += line + "\n";
    return joined;
  }

  static ModelDescription parse(const std::string& text) {
    ModelDescription description;
    std::istringstream stream(text);
    std::vector<std::string>* part = &description.parameters;
    for (std::string line; std::getline(stream, line);) {
      if (line.empty())
        part = &description.buffers;
      else
        part->push_back(line);
    }
    return description;
  }
};

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

// True when every rank's text hashes the same (the max of hash and of -hash over every rank agree).
bool same_everywhere(const std::string& text, Communicator& comm) {
  const int64_t hash = static_cast<int64_t>(fnv1a(text) >> 1);
  at::Tensor extremes = at::tensor({hash, -hash}, at::kLong);
  comm.allreduce(extremes, ReduceOp::max)->wait();
  return extremes[0].item<int64_t>() == -extremes[1].item<int64_t>();
}

std::string root_text(const std::string& mine, Communicator& comm) {
  at::Tensor length = at::tensor({static_cast<int64_t>(mine.size())}, at::kLong);
  comm.broadcast(length, 0)->wait();
  at::Tensor bytes = comm.rank() == 0 ? at::from_blob(const_cast<char*>(mine.data()),
                                                      {static_cast<int64_t>(mine.size())}, at::kByte)
                                            .clone()
                                      : at::empty({length.item<int64_t>()}, at::kByte);
  comm.broadcast(bytes, 0)->wait();
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
}

// The first entry where this rank's list differs from rank 0's, in words; "" when none does.
std::string first_difference(const char* kind, const std::vector<std::string>& mine,
                             const std::vector<std::string>& root) {
  for (size_t i = 0; i < std::max(mine.size(), root.size()); ++i) {
    const std::string ours = i < mine.size() ? mine[i] : "(nothing)";
    const std::string theirs = i < root.size() ? root[i] : "(nothing)";
    if (ours != theirs) return to_text(kind, " #", i, ": rank 0 has ", theirs, ", this rank has ", ours);
  }
  return "";
}

// Collective: every rank must hold the same parameters and buffers, or every rank throws.
void verify_same_model(const ModelDescription& mine, Communicator& comm) {
  const std::string text = mine.text();
  if (same_everywhere(text, comm)) return;
  const ModelDescription root = ModelDescription::parse(root_text(text, comm));
  std::string difference = first_difference("parameter", mine.parameters, root.parameters);
  if (difference.empty()) difference = first_difference("buffer", mine.buffers, root.buffers);
  if (!difference.empty())
    throw UserError(to_text("the model differs between ranks: ", difference,
                            "; every rank must build the same model from the same configuration"),
                    ATROUS_HERE);
  throw UserError(
      "the model differs between ranks: this rank's matches rank 0's, another rank's does not "
      "(its error names the parameter or buffer); every rank must build the same model",
      ATROUS_HERE);
}

void broadcast_from_root(const std::vector<NamedTensor>& tensors, Communicator& comm) {
  std::vector<WorkHandle> works;
  for (const auto& named : tensors) {
    ATROUS_ASSERT(named.tensor.is_contiguous(), named.name, " is not contiguous");
    works.push_back(comm.broadcast(named.tensor.detach(), 0));
  }
  for (auto& work : works) work->wait();
}

}  // namespace

void replicate_from_root(const std::vector<NamedTensor>& parameters, const std::vector<NamedTensor>& buffers,
                         Communicator& comm) {
  verify_same_model(ModelDescription{describe_all(parameters), describe_all(buffers)}, comm);
  broadcast_from_root(parameters, comm);
  broadcast_from_root(buffers, comm);
}

}  // namespace atrous::distributed
