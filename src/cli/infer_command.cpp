#include "atrous/cli/infer_command.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/data/dataset_descriptor.h"
#include "atrous/data/image_io.h"
#include "atrous/data/pack_reader.h"
#include "atrous/distributed/world.h"
#include "atrous/eval/colour_masks.h"
#include "atrous/eval/logits_file.h"
#include "atrous/model/multi_scale.h"
#include "atrous/model/weight_import.h"

namespace atrous::cli {
namespace fs = std::filesystem;
namespace {

// One image to predict: from a file, or a pack sample (resized back to source_hw afterwards).
struct InferItem {
  std::string name;
  std::string file;
  const data::PackReader* pack = nullptr;
  int64_t index = 0;
};

bool is_image(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), ::tolower);
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

int64_t classes_in(const std::map<std::string, at::Tensor>& weights, const std::string& path) {
  for (const char* key : {"logits.bias", "classifier.4.bias"})
    if (auto found = weights.find(key); found != weights.end()) return found->second.size(0);
  throw UserError(to_text("'", path, "' has no logits layer (logits.bias or classifier.4.bias)"),
                  ATROUS_HERE);
}

}  // namespace

void InferCommand::declare(OptionTable& table) {
  model::ModelOptions::declare(table, model_);
  eval::PredictOptions::declare(table, predict_);
  table.add("eval.checkpoint", &checkpoint_, std::string(), "the checkpoint (or state dict) to predict with",
            "a file written by atrous train");
  table.add("infer.input", &input_, std::string(), "images, folders of images, or packs, comma-separated",
            "paths");
  table.add("infer.out", &out_, std::string(), "the folder for masks and overlays", "a folder");
  table.add("infer.logits_out", &logits_out_, std::string(),
            "also write raw logits to this HDF5 file (one process)", "a file path, or empty");
  table.add("infer.descriptor", &descriptor_, std::string(),
            "the dataset descriptor whose palette paints masks",
            "an INI file, or empty (the pack's palette, else VOC's)");
}

int InferCommand::run(const CommandContext& context) {
  std::vector<std::unique_ptr<data::PackReader>> packs;
  std::vector<InferItem> items;
  std::unique_ptr<eval::Predictor> predictor;
  model::DeepLab net{nullptr};
  std::vector<std::array<uint8_t, 3>> palette = data::voc_palette();
  context.collective_setup([&] {
    ATROUS_CHECK_OPTION(!checkpoint_.empty(), "eval.checkpoint", checkpoint_, "a checkpoint file");
    ATROUS_CHECK_OPTION(!input_.empty(), "infer.input", input_, "images, folders or packs, comma-separated");
    ATROUS_CHECK_OPTION(!out_.empty(), "infer.out", out_, "a folder for the masks");
    ATROUS_CHECK_OPTION(logits_out_.empty() || context.world.size() == 1, "infer.logits_out", logits_out_,
                        "empty when running on several ranks (the logits file is written by one process)");
    std::stringstream inputs(input_);
    std::string path;
    while (std::getline(inputs, path, ',')) {
      if (fs::is_directory(path)) {
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(path))
          if (entry.is_regular_file() && is_image(entry.path())) files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) items.push_back({file.stem().string(), file.string()});
      } else if (fs::path(path).extension() == ".h5") {
        packs.push_back(std::make_unique<data::PackReader>(path));
        palette = packs.back()->metadata().palette;
        for (int64_t i = 0; i < packs.back()->size(); ++i) items.push_back({"", "", packs.back().get(), i});
      } else if (fs::is_regular_file(path)) {
        items.push_back({fs::path(path).stem().string(), path});
      } else {
        throw UserError(to_text("infer input '", path, "' is not an image, a folder or a pack"), ATROUS_HERE);
      }
    }
    if (!descriptor_.empty()) palette = data::read_descriptor(descriptor_).palette;
    const auto weights = model::read_state_dict(checkpoint_);
    model::ModelOptions options = model_;
    if (predict_.output_stride != 0) options.output_stride = predict_.output_stride;
    net = model::DeepLab(options, classes_in(weights, checkpoint_));
    model::import_weights(*net, weights, "model", {}, false, checkpoint_);
    net->to(context.world.device());
    predictor = std::make_unique<eval::Predictor>(net, predict_);
    fs::create_directories(out_);
  });

  std::unique_ptr<eval::LogitsFile> logits;
  if (!logits_out_.empty()) logits = std::make_unique<eval::LogitsFile>(logits_out_, net->num_classes());
  for (size_t i = size_t(context.world.rank()); i < items.size(); i += size_t(context.world.size())) {
    InferItem item = items[i];
    at::Tensor image;               // [H, W, 3] uint8 to predict on
    int64_t height = 0, width = 0;  // the original size
    if (item.pack) {
      const data::PackRecord record = item.pack->read(item.index);
      item.name = record.name;
      image = record.image.slice(0, 0, record.valid_hw[0]).slice(1, 0, record.valid_hw[1]);
      height = record.source_hw[0], width = record.source_hw[1];
    } else {
      image = data::read_rgb_image(item.file);
      height = image.size(0), width = image.size(1);
    }
    const at::Tensor input = image.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).to(context.world.device());
    const at::Tensor probabilities =
        model::resize_bilinear_aligned(predictor->probabilities(input), height, width);
    const at::Tensor mask = probabilities.argmax(1)[0].to(at::kByte).cpu();
    const at::Tensor original =
        model::resize_bilinear_aligned(image.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat), height, width)[0]
            .permute({1, 2, 0})
            .round()
            .clamp(0, 255)
            .to(at::kByte);
    std::string file_name = item.name;
    std::replace(file_name.begin(), file_name.end(), '/', '_');
    data::write_palette_png((fs::path(out_) / (file_name + ".png")).string(), mask, palette);
    data::write_rgb_png((fs::path(out_) / (file_name + "_overlay.png")).string(),
                        eval::overlay(original, eval::colourise(mask, palette)));
    if (logits) {
      at::NoGradGuard no_grad;
      const at::Tensor raw = net->logits_at_one_scale(net->normalise(input));
      logits->write(item.name, model::resize_bilinear_aligned(raw, height, width)[0]);
    }
  }
  if (logits) logits->commit();
  context.log.info("predicted ", items.size(), " image(s) into ", out_,
                   logits ? " and raw logits into " + logits_out_ : std::string());
  return 0;
}

}  // namespace atrous::cli
