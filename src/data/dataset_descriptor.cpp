#include "atrous/data/dataset_descriptor.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "atrous/core/error.h"

namespace atrous::data {
namespace {

std::string trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, separator)) items.push_back(trim(item));
  return items;
}

class DescriptorParser {
 public:
  explicit DescriptorParser(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw UserError(to_text("dataset descriptor '", path_, "': ", key, " ", problem,
                            " (datasets/README.md describes the format)"),
                    ATROUS_HERE);
  }

  long integer(const std::string& key, const std::string& text, long low, long high) const {
    char* end = nullptr;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < low || value > high)
      fail(key, to_text("= '", text, "' is not an integer in [", low, ", ", high, "]"));
    return value;
  }

  std::map<std::string, std::string> read() const {
    std::ifstream file(path_);
    if (!file)
      throw UserError(
          to_text("dataset descriptor '", path_, "' cannot be read; give one with --pack.descriptor"),
          ATROUS_HERE);
    std::map<std::string, std::string> values;
    std::string line, section;
    while (std::getline(file, line)) {
      line = trim(line.substr(0, line.find('#')));
      if (line.empty()) continue;
      if (line.front() == '[') {
        section = line;
        continue;
      }
      const size_t equals = line.find('=');
      if (section != "[dataset]" || equals == std::string::npos)
        fail("line '" + line + "'", "is not `key = value` in the [dataset] section");
      const std::string key = trim(line.substr(0, equals));
      if (!values.emplace(key, trim(line.substr(equals + 1))).second)
        fail(key, "is given twice; keep one of its lines");
    }
    return values;
  }

 private:
  std::string path_;
};

// palette: `voc`, or "r g b, r g b, ..." with at least one colour per class.
std::vector<std::array<uint8_t, 3>> parse_palette(const DescriptorParser& parser, const std::string& text,
                                                  int num_classes) {
  if (text == "voc") return voc_palette();
  std::vector<std::array<uint8_t, 3>> palette;
  for (const std::string& colour : split(text, ',')) {
    const std::vector<std::string> parts = split(colour, ' ');
    if (parts.size() != 3) parser.fail("palette", "= '" + colour + "' is not 'r g b'");
    palette.push_back({uint8_t(parser.integer("palette", parts[0], 0, 255)),
                       uint8_t(parser.integer("palette", parts[1], 0, 255)),
                       uint8_t(parser.integer("palette", parts[2], 0, 255))});
  }
  if (int(palette.size()) < num_classes) parser.fail("palette", "has fewer colours than classes");
  return palette;
}

// mean_rgb: "r,g,b", each in [0, 255].
std::array<float, 3> parse_mean_rgb(const DescriptorParser& parser, const std::string& text) {
  const std::vector<std::string> mean = split(text, ',');
  if (mean.size() != 3) parser.fail("mean_rgb", "needs three numbers r,g,b");
  std::array<float, 3> rgb{};
  for (int c = 0; c < 3; ++c) {
    char* end = nullptr;
    rgb[c] = std::strtof(mean[c].c_str(), &end);
    if (mean[c].empty() || *end != '\0' || rgb[c] < 0 || rgb[c] > 255)
      parser.fail("mean_rgb", "needs three numbers in [0, 255]");
  }
  return rgb;
}

// label_map: identity, minus_one, or "from:to, ..." (unlisted values become the ignore label).
std::array<uint8_t, 256> parse_label_map(const DescriptorParser& parser, const std::string& text,
                                         int num_classes, int ignore_label) {
  std::array<uint8_t, 256> map{};
  if (text == "identity") {
    for (int v = 0; v < 256; ++v) map[v] = uint8_t(v);
  } else if (text == "minus_one") {
    map[0] = uint8_t(ignore_label);
    for (int v = 1; v < 256; ++v) map[v] = v - 1 < num_classes ? uint8_t(v - 1) : uint8_t(v);
    map[255] = uint8_t(ignore_label);
  } else {
    map.fill(uint8_t(ignore_label));
    for (const std::string& pair : split(text, ',')) {
      const size_t colon = pair.find(':');
      if (colon == std::string::npos) parser.fail("label_map", "entry '" + pair + "' is not from:to");
      const long from = parser.integer("label_map", trim(pair.substr(0, colon)), 0, 255);
      const long to = parser.integer("label_map", trim(pair.substr(colon + 1)), 0, 255);
      if (to >= num_classes && to != ignore_label)
        parser.fail("label_map",
                    to_text("maps ", from, " to ", to, ", neither a class nor the ignore label"));
      map[from] = uint8_t(to);
    }
  }
  return map;
}

}  // namespace

std::vector<std::array<uint8_t, 3>> voc_palette() {
  std::vector<std::array<uint8_t, 3>> palette(256);
  for (int index = 0; index < 256; ++index) {
    int value = index;
    std::array<int, 3> colour{0, 0, 0};
    for (int shift = 7; value > 0; --shift, value >>= 3)
      for (int channel = 0; channel < 3; ++channel) colour[channel] |= ((value >> channel) & 1) << shift;
    palette[index] = {uint8_t(colour[0]), uint8_t(colour[1]), uint8_t(colour[2])};
  }
  return palette;
}

DatasetDescriptor read_descriptor(const std::string& path) {
  const DescriptorParser parser(path);
  std::map<std::string, std::string> values = parser.read();
  auto take = [&](const std::string& key, const std::string& fallback = "\x01") {
    auto found = values.find(key);
    if (found == values.end()) {
      if (fallback == "\x01") parser.fail(key, "is missing");
      return fallback;
    }
    std::string value = found->second;
    values.erase(found);
    return value;
  };
  DatasetDescriptor d;
  d.path = path;
  d.name = take("name");
  d.num_classes = int(parser.integer("num_classes", take("num_classes"), 1, 255));
  d.class_names = split(take("class_names"), ',');
  if (int(d.class_names.size()) != d.num_classes)
    parser.fail("class_names",
                to_text("has ", d.class_names.size(), " names for ", d.num_classes, " classes"));
  d.ignore_label = int(parser.integer("ignore_label", take("ignore_label", "255"), 0, 255));
  if (d.ignore_label < d.num_classes)
    parser.fail("ignore_label", "must not be a class index (>= num_classes)");

  d.palette = parse_palette(parser, take("palette", "voc"), d.num_classes);
  d.mean_rgb = parse_mean_rgb(parser, take("mean_rgb", "127.5,127.5,127.5"));
  d.label_map_text = take("label_map", "identity");
  d.label_map = parse_label_map(parser, d.label_map_text, d.num_classes, d.ignore_label);
  if (!values.empty()) parser.fail(values.begin()->first, "is not a descriptor key");
  return d;
}

}  // namespace atrous::data
