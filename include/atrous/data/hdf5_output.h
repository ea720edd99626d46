#pragma once
// HDF5 files written as outputs (packs, infer.logits_out) through core/output_file.h's OutputFile.
//
// create_hdf5_output(output), for an OutputFile::for_library(): creates the file at its temporary
// name with H5F_ACC_EXCL (O_CREAT | O_EXCL: never an existing file, never through a link) and HDF5's
// own file locking off (the OutputFile's lock is the one that says the writer is alive), and adopts
// HDF5's descriptor. A failure is a UserError naming the output and HDF5's reason.
// commit_hdf5_output(file, output): closes the file (its datasets and groups must be closed first)
// and commits the output; a failed close (a full disk) is a UserError and nothing is committed.

#include <string>

#include "atrous/core/output_file.h"
#include "atrous/data/hdf5_handle.h"

namespace atrous::data {

Hdf5Handle create_hdf5_output(OutputFile& output);
void commit_hdf5_output(Hdf5Handle& file, OutputFile& output);

}  // namespace atrous::data
