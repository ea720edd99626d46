#pragma once
// Writing a whole file so that a reader, a crash or a full disk never sees half of it.
//
// write_file_atomically(path, bytes): the bytes go to "<path>.partial" in the same folder, which is
// fsynced and renamed over `path`, then the folder is fsynced. Until the rename `path` keeps its old
// content (or stays absent); after it, the new content is on disk. Any failure — cannot create, a
// short write (ENOSPC, EFBIG), fsync, rename — removes the partial file and is a UserError naming
// `path`, the system's reason, and what to do (space, permissions). Every whole-file output of atrous
// goes through it: checkpoints and `latest`, config.ini, the rewritten metrics.jsonl, eval.out.
//
// remove_partial_files(folder): deletes the "*.partial" files an interrupted write left in `folder`
// (not recursively); returns how many. Call it only where no other process writes: after taking the
// run directory's lock.

#include <string>

namespace atrous {

void write_file_atomically(const std::string& path, const std::string& bytes);
int remove_partial_files(const std::string& folder);

}  // namespace atrous
