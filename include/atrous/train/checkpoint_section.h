#pragma once
// Checkpoint sections: a checkpoint holds one named section per owner of state, and each owner saves
// and restores its own.
//
// An owner (the run's identity, the data position, the model, the optimizer, the loss scaler, and
// whatever state comes next) implements CheckpointSection: save() writes its values into a
// SectionValues, restore() reads them back. The training run registers its owners once
// (PreparedTraining::register_sections, train/prepared_training.h), in CheckpointSections, in the
// order they restore; save_checkpoint and load_checkpoint (train/checkpoint.h) move whole sections
// and read none of their values (but to refuse non-finite ones, and to read the sections of older
// format versions). New state is one new owner and one registration.
//
// Values are typed: integers, reals, text, tensors and name -> tensor dicts. Reading a key that is
// missing or holds another type is a UserError naming the checkpoint file, the section and the key,
// so restore() sees only well-formed values; the ranges it accepts are its own to check.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace atrous::train {

class SectionValues {
 public:
  using Tensors = std::map<std::string, at::Tensor>;
  using Value = std::variant<int64_t, double, std::string, at::Tensor, Tensors>;

  // file: the checkpoint the values were read from ("" while writing), for messages.
  explicit SectionValues(std::string section = {}, std::string file = {});

  void set(const std::string& key, Value value);

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  const at::Tensor& tensor(const std::string& key) const;
  const Tensors& tensors(const std::string& key) const;
  // Every value that is a tensor, by key (a section of tensors only is a state dict).
  Tensors tensor_values() const;

  const std::map<std::string, Value>& values() const { return values_; }
  const std::string& section() const { return section_; }
  const std::string& file() const { return file_; }

 private:
  template <class T>
  const T& get(const std::string& key, const char* kind) const;

  std::string section_;
  std::string file_;
  std::map<std::string, Value> values_;
};

class CheckpointSection {
 public:
  virtual ~CheckpointSection() = default;
  virtual void save(SectionValues& out) const = 0;
  // A UserError naming values.file() when the values do not fit this owner (another optimizer's
  // state, another seed, a position no run reaches).
  virtual void restore(const SectionValues& values) = 0;
};

// What one checkpoint file holds: its sections by name.
class CheckpointContents {
 public:
  explicit CheckpointContents(std::string file = {}) : file_(std::move(file)) {}

  // The section to fill (created empty on first use).
  SectionValues& add(const std::string& name);
  bool has(const std::string& name) const { return sections_.count(name) > 0; }
  // UserError naming the file when it holds no such section.
  const SectionValues& section(const std::string& name) const;
  const std::map<std::string, SectionValues>& sections() const { return sections_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::map<std::string, SectionValues> sections_;
};

// The owners of a run's state, registered once, in the order restore() calls them.
class CheckpointSections {
 public:
  void add(const std::string& name, CheckpointSection& owner);
  // Every owner's save(), each into its section.
  CheckpointContents collect() const;
  // Every owner's restore() from its section; a UserError naming the file when a section is missing.
  void restore(const CheckpointContents& contents) const;

 private:
  std::vector<std::pair<std::string, CheckpointSection*>> owners_;
};

}  // namespace atrous::train
