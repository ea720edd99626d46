#include "atrous/data/self_contained_hdf5.h"

#include <sys/stat.h>

#include <vector>

#include "atrous/core/error.h"
#include "atrous/data/hdf5_check.h"

namespace atrous::data {
namespace {

constexpr const char* self_contained = "; a pack must hold its data itself";

herr_t refuse_external_link(const char*, const char*, const char*, const char*, unsigned*, hid_t, void*) {
  return -1;  // HDF5 then fails the traversal without opening the target file
}

Hdf5Handle refusing_link_access(hid_t kind) {
  Hdf5Handle access(ATROUS_HDF5_CHECK(H5Pcreate(kind)));
  ATROUS_HDF5_CHECK(H5Pset_elink_cb(access.get(), refuse_external_link, nullptr));
  return access;
}

// Where a non-hard link points: "external link to FILE:/OBJECT" or "soft link to PATH".
std::string link_target(hid_t file, const char* name, const H5L_info_t& info) {
  std::vector<char> value(info.u.val_size + 1, '\0');
  if (H5Lget_val(file, name, value.data(), value.size(), H5P_DEFAULT) < 0) return "an unreadable target";
  if (info.type == H5L_TYPE_SOFT) return std::string("a soft link to ") + value.data();
  const char *target_file = nullptr, *target_object = nullptr;
  if (info.type == H5L_TYPE_EXTERNAL &&
      H5Lunpack_elink_val(value.data(), value.size(), nullptr, &target_file, &target_object) >= 0)
    return to_text("an external link to '", target_file, "':", target_object);
  return "a link of a kind packs do not use";
}

// Where the dataset's storage leads outside the file; empty when it does not.
std::string outside_storage(hid_t dataset) {
  Hdf5Handle creation(ATROUS_HDF5_CHECK(H5Dget_create_plist(dataset)));
  const H5D_layout_t layout = H5Pget_layout(creation.get());
  if (layout == H5D_VIRTUAL) {
    size_t mappings = 0;
    H5Pget_virtual_count(creation.get(), &mappings);
    if (mappings == 0) return "a virtual dataset";
    std::vector<char> source(4096, '\0');
    H5Pget_virtual_filename(creation.get(), 0, source.data(), source.size());
    return to_text("a virtual dataset reading '", source.data(), "'");
  }
  if (H5Pget_external_count(creation.get()) > 0) {
    std::vector<char> name(4096, '\0');
    off_t offset = 0;
    hsize_t size = 0;
    H5Pget_external(creation.get(), 0, name.size(), name.data(), &offset, &size);
    return to_text("stored in the external file '", name.data(), "'");
  }
  return "";
}

}  // namespace

Hdf5Handle open_self_contained_file(const std::string& path) {
  struct stat status {};
  ATROUS_CHECK(::stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode), "pack '", path,
               "' does not exist or is not a regular file");
  quiet_hdf5_errors();
  Hdf5Handle access(ATROUS_HDF5_CHECK(H5Pcreate(H5P_FILE_ACCESS)));
  ATROUS_HDF5_CHECK(H5Pset_file_locking(access.get(), false, true));
  ATROUS_HDF5_CHECK(H5Pset_elink_file_cache_size(access.get(), 0));
  Hdf5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()));
  ATROUS_CHECK(file.get() >= 0, "pack '", path,
               "' cannot be opened (truncated or damaged?): ", hdf5_error_text(),
               "; repack it with `atrous pack`");
  return file;
}

Hdf5Handle open_self_contained_dataset(hid_t file, const char* name) {
  ATROUS_CHECK(H5Lexists(file, name, H5P_DEFAULT) > 0, "dataset /", name, " is missing");
  H5L_info_t info{};
  ATROUS_HDF5_CHECK(H5Lget_info(file, name, &info, H5P_DEFAULT));
  if (info.type != H5L_TYPE_HARD)
    throw UserError(to_text("/", name, " is ", link_target(file, name, info), self_contained), ATROUS_HERE);
  Hdf5Handle access = refusing_link_access(H5P_DATASET_ACCESS);
  Hdf5Handle dataset(ATROUS_HDF5_CHECK(H5Dopen2(file, name, access.get())));
  const std::string outside = outside_storage(dataset.get());
  if (!outside.empty()) throw UserError(to_text("/", name, " is ", outside, self_contained), ATROUS_HERE);
  return dataset;
}

}  // namespace atrous::data
