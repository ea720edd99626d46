#pragma once
// JPEG decoding with libjpeg, behind data/image_io.h (which says what callers get).
//
// Corrupt data is an error: libjpeg reports it as a warning and goes on, filling what it could not
// decode with grey (a truncated file's lower part). Here every such warning ("Premature end of JPEG
// file", "Corrupt JPEG data: bad Huffman code", "... premature end of data segment", a bad
// progression, ...) fails the decode with libjpeg's message. Warnings that leave the pixels intact are
// ignored: an unknown JFIF revision, an unknown Adobe colour transform code, a bad ICC profile marker,
// and extraneous bytes just before the end-of-image marker (after the last pixel was decoded). Nothing
// is printed.
// The image's size is checked against ImageLimits from the header, before decoding.
// Failures are UserErrors naming `path`. Any thread may call these functions.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "atrous/data/image_io.h"

namespace atrous::data {

// Whether `bytes` start with JPEG's signature (the SOI marker).
bool is_jpeg(const std::vector<unsigned char>& bytes);

// The JPEG in `bytes`, read from `path`, as RGB uint8 [H, W, 3].
at::Tensor decode_jpeg(const std::string& path, const std::vector<unsigned char>& bytes,
                       const ImageLimits& limits);

// {height, width} from the JPEG's header, without decoding the pixels.
std::array<int64_t, 2> jpeg_size(const std::string& path, const std::vector<unsigned char>& bytes,
                                 const ImageLimits& limits);

}  // namespace atrous::data
