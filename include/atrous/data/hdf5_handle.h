#pragma once
// Hdf5Handle: the one owner of an HDF5 identifier (file, dataset, dataspace, attribute, datatype,
// property list); closes it with the matching H5?close when destroyed. Non-copyable, movable.

#include <hdf5.h>

namespace atrous::data {

class Hdf5Handle {
 public:
  Hdf5Handle() = default;
  explicit Hdf5Handle(hid_t id) : id_(id) {}
  ~Hdf5Handle() { reset(); }
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;
  Hdf5Handle(Hdf5Handle&& other) noexcept : id_(other.release()) {}
  Hdf5Handle& operator=(Hdf5Handle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }

  hid_t get() const { return id_; }
  hid_t release() {
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  // Closes the current identifier (whatever its kind) and takes `id`.
  void reset(hid_t id = H5I_INVALID_HID);

 private:
  hid_t id_ = H5I_INVALID_HID;
};

}  // namespace atrous::data
