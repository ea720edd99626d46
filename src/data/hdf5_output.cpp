#include "atrous/data/hdf5_output.h"

#include "atrous/core/error.h"
#include "atrous/data/hdf5_check.h"

namespace atrous::data {

Hdf5Handle create_hdf5_output(OutputFile& output) {
  quiet_hdf5_errors();
  Hdf5Handle access(ATROUS_HDF5_CHECK(H5Pcreate(H5P_FILE_ACCESS)));
  ATROUS_HDF5_CHECK(H5Pset_file_locking(access.get(), false, true));
  Hdf5Handle file(H5Fcreate(output.temporary_path().c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()));
  if (file.get() < 0)
    throw UserError(to_text("cannot create '", output.path(), "' (as '", output.temporary_path(),
                            "'): ", hdf5_error_text(), "; check that the folder exists and is writable"),
                    ATROUS_HERE);
  void* handle = nullptr;
  ATROUS_HDF5_CHECK(H5Fget_vfd_handle(file.get(), H5P_DEFAULT, &handle));
  ATROUS_ASSERT(handle != nullptr, "HDF5 gave no descriptor for ", output.temporary_path());
  output.adopt(*static_cast<int*>(handle));  // the default (sec2) driver's handle is the descriptor
  return file;
}

void commit_hdf5_output(Hdf5Handle& file, OutputFile& output) {
  if (H5Fclose(file.release()) < 0) {
    const std::string stack = hdf5_error_text(), reason = hdf5_system_reason(stack);
    throw UserError(
        to_text("cannot write '", output.path(), "': closing it failed",
                reason.empty() ? "" : " (" + reason + ")",
                "; nothing was written there. Check the space left in its folder (HDF5: ", stack, ")"),
        ATROUS_HERE);
  }
  output.commit();
}

}  // namespace atrous::data
