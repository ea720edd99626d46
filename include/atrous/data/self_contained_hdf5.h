#pragma once
// The one way atrous opens an HDF5 input (a pack) and its datasets, so that reading it reads that
// file and nothing else: a pack can make atrous read no other file.
//
// open_self_contained_file(path): opens `path` read-only with HDF5's own file locking off and
// external links refused by the link access properties (their callback fails before a file is
// opened). `path` must be a regular file (a device or FIFO is refused before HDF5 touches it). A
// failure is a UserError naming the file and HDF5's reason.
//
// open_self_contained_dataset(file, name): opens the root dataset `name` only when
//   - its link is a hard link: an external link (another file) or a soft link is refused, naming
//     where it points, before anything is opened through it;
//   - its storage is in the file: external raw storage (HDF5's H5Pset_external, h5py's external=)
//     is refused naming the first file it points to, a virtual dataset naming its first source.
// Both are refused right after the dataset's header is read and before any of its data is; HDF5
// 1.10 offers no way to read a dataset's layout without opening it, and opening a virtual dataset
// with unlimited mappings reads its sources' headers (never their data). A UserError names the
// dataset and what it points to (the caller names the pack).

#include <string>

#include "atrous/data/hdf5_handle.h"

namespace atrous::data {

Hdf5Handle open_self_contained_file(const std::string& path);
Hdf5Handle open_self_contained_dataset(hid_t file, const char* name);

}  // namespace atrous::data
