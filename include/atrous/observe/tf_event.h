#pragma once
// TensorBoard's event records, encoded by hand: the few TensorFlow protobuf messages a scalar and
// image log needs, in protobuf's wire format, and TFRecord's framing around each of them.
//
// Nothing here links libprotobuf: LibTorch carries its own copy of protobuf, and linking Debian's
// libprotobuf beside it risks two registrations of the same descriptors at load time. The messages
// are small and fixed, so they are written field by field with TensorFlow's field numbers:
//
//   Event          wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
//                  summary = 5 (Summary), session_log = 7 (SessionLog)
//   SessionLog     status = 1 (enum: START = 1)
//   Summary        repeated Value value = 1
//   Summary.Value  tag = 1 (string), simple_value = 2 (float), image = 4 (Summary.Image)
//   Summary.Image  height = 1, width = 2, colorspace = 3 (int32), encoded_image_string = 4 (bytes)
//
// Every field given is written, zeros included (a zero simple_value must be written: it selects the
// value's kind). Scalars are written as float32, TensorBoard's simple_value; NaN and infinities are
// written as they are, and TensorBoard shows them. Tags are protobuf strings, which readers refuse
// unless they are UTF-8: bytes that are not (a class name from a user's file) are written as U+FFFD
// (core/json.h, valid_utf8). tests/observe/read_events.py reads the output
// back with protoc-generated code, independently of this encoder. Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <vector>

namespace atrous::observe {

// The file_version of the first record of every event file.
inline constexpr const char* event_file_version = "brain.Event:2";

// Summary.Image's colorspace values.
inline constexpr int32_t colorspace_grey = 1;
inline constexpr int32_t colorspace_rgb = 3;
inline constexpr int32_t colorspace_rgba = 4;

struct ScalarValue {
  std::string tag;
  double value = 0;  // written as float32
};

struct ImageValue {
  std::string tag;
  int32_t height = 0;
  int32_t width = 0;
  int32_t colorspace = colorspace_rgb;  // colorspace_grey, colorspace_rgb or colorspace_rgba
  std::string png;                      // the encoded PNG file, byte for byte
};

// An Event holding wall_time (seconds since the Unix epoch) and file_version, without a step.
std::string encode_file_version_event(double wall_time, const std::string& version = event_file_version);

// An Event holding a SessionLog (field 7) of status START (1) at `step`: TensorBoard then drops the
// events of steps >= step that it read before (TensorBoard's restart rule: a run resumed from a
// checkpoint replaces what the interrupted run logged after it).
std::string encode_session_start_event(double wall_time, int64_t step);

// An Event holding wall_time, step and one Summary with the scalars' values, then the images'.
std::string encode_summary_event(double wall_time, int64_t step, const std::vector<ScalarValue>& scalars,
                                 const std::vector<ImageValue>& images = {});

// One TFRecord: data's length (uint64, little-endian), the masked CRC-32C of those 8 bytes (uint32,
// little-endian), data, the masked CRC-32C of data (uint32, little-endian).
std::string tfrecord(const std::string& data);

}  // namespace atrous::observe
