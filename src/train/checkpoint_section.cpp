#include "atrous/train/checkpoint_section.h"

#include "atrous/core/error.h"

namespace atrous::train {

SectionValues::SectionValues(std::string section, std::string file)
    : section_(std::move(section)), file_(std::move(file)) {}

void SectionValues::set(const std::string& key, Value value) {
  values_[key] = std::move(value);
}

template <class T>
const T& SectionValues::get(const std::string& key, const char* kind) const {
  const auto found = values_.find(key);
  if (found == values_.end())
    throw UserError(to_text("'", file_, "' is not an atrous checkpoint this build reads: section '", section_,
                            "' has no '", key, "' entry"),
                    ATROUS_HERE);
  if (const T* value = std::get_if<T>(&found->second)) return *value;
  throw UserError(to_text("'", file_, "' is not an atrous checkpoint this build reads: '", key,
                          "' in section '", section_, "' is not ", kind),
                  ATROUS_HERE);
}

int64_t SectionValues::integer(const std::string& key) const {
  return get<int64_t>(key, "an integer");
}
double SectionValues::real(const std::string& key) const {
  return get<double>(key, "a number");
}
const std::string& SectionValues::text(const std::string& key) const {
  return get<std::string>(key, "text");
}
const at::Tensor& SectionValues::tensor(const std::string& key) const {
  return get<at::Tensor>(key, "a tensor");
}
const SectionValues::Tensors& SectionValues::tensors(const std::string& key) const {
  return get<Tensors>(key, "a dict of tensors");
}

SectionValues::Tensors SectionValues::tensor_values() const {
  Tensors tensors;
  for (const auto& [key, value] : values_)
    if (const at::Tensor* tensor = std::get_if<at::Tensor>(&value)) tensors[key] = *tensor;
  return tensors;
}

SectionValues& CheckpointContents::add(const std::string& name) {
  return sections_.try_emplace(name, name, file_).first->second;
}

const SectionValues& CheckpointContents::section(const std::string& name) const {
  const auto found = sections_.find(name);
  if (found == sections_.end())
    throw UserError(
        to_text("'", file_, "' is not an atrous checkpoint this build reads: it has no section '", name, "'"),
        ATROUS_HERE);
  return found->second;
}

void CheckpointSections::add(const std::string& name, CheckpointSection& owner) {
  for (const auto& [registered, ignored] : owners_)
    ATROUS_ASSERT(registered != name, "checkpoint section '" + name + "' registered twice");
  owners_.emplace_back(name, &owner);
}

CheckpointContents CheckpointSections::collect() const {
  CheckpointContents contents;
  for (const auto& [name, owner] : owners_) owner->save(contents.add(name));
  return contents;
}

void CheckpointSections::restore(const CheckpointContents& contents) const {
  for (const auto& [name, owner] : owners_) owner->restore(contents.section(name));
}

}  // namespace atrous::train
