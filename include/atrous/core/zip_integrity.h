#pragma once
// The integrity of a zip archive (torch.save files, atrous checkpoints): every entry's bytes are
// checked against the CRC-32 that the writer stored for it in the central directory, so a file
// changed after it was written (flipped bytes, a bad copy) is named at read time instead of being
// unpickled into wrong weights.
//
// check_zip_entries walks the central directory (zip64 included: archives past 4 GiB or 65535
// entries) and, for every stored (uncompressed) entry — torch.save stores every entry so — computes
// its CRC-32 and compares. A compressed entry's CRC is left to its decompressor. Throws
// std::runtime_error saying which entry fails and why (a damaged directory, an entry outside the
// file, a CRC mismatch); the caller adds the file's name and what to do. Cost: one pass over the
// file at zlib's CRC-32 speed (GB/s).

#include <vector>

namespace atrous {

void check_zip_entries(const std::vector<char>& bytes);

}  // namespace atrous
