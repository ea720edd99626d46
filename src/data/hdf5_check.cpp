#include "atrous/data/hdf5_check.h"

#include <vector>

namespace atrous::data {
namespace {

herr_t collect_description(unsigned, const H5E_error2_t* entry, void* data) {
  auto* lines = static_cast<std::vector<std::string>*>(data);
  std::string description = entry->desc != nullptr ? entry->desc : "";
  if (description.empty() && entry->func_name != nullptr) description = entry->func_name;
  if (!description.empty() && (lines->empty() || lines->back() != description)) lines->push_back(description);
  return 0;
}

// HDF5 1.10 closes at exit the files still open, and crashes there (SIGSEGV, exit 139 after the
// error was reported) on a file whose H5Fclose failed because the disk was full. Every HDF5 object
// atrous opens is closed by its Hdf5Handle, so the library's exit-time clean-up is switched off
// before its first call (this initialiser runs before main; H5dont_atexit does not start HDF5).
const bool hdf5_exit_cleanup_off = [] {
  H5dont_atexit();
  return true;
}();

}  // namespace

// Per thread: a thread-safe HDF5 build keeps the automatic printing setting for each thread (the
// loader's reader threads print their own stacks otherwise).
void quiet_hdf5_errors() {
  thread_local bool quiet = false;
  if (quiet) return;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  quiet = true;
}

std::string hdf5_system_reason(const std::string& stack) {
  const std::string marker = "error message = '";
  const size_t begin = stack.find(marker), end = stack.find('\'', begin + marker.size());
  if (begin == std::string::npos || end == std::string::npos) return "";
  return stack.substr(begin + marker.size(), end - begin - marker.size());
}

std::string hdf5_error_text() {
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_description, &lines);
  if (lines.empty()) return "no HDF5 error message";
  std::string text = lines.front();
  for (size_t i = 1; i < lines.size(); ++i) text += " <- " + lines[i];
  return text;
}

void throw_hdf5_error(const char* call, SourceLocation where) {
  std::string text = hdf5_error_text();
  H5Eclear2(H5E_DEFAULT);
  throw LibraryError("HDF5", call, text, where);
}

}  // namespace atrous::data
