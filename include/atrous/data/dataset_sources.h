#pragma once
// Where the samples of a dataset split are on disk, per source format (`atrous pack <format>`):
//   voc         ROOT is VOC2012 (or a folder holding VOC2012 or VOCdevkit/VOC2012); the split's names
//               from ImageSets/Segmentation/<split>.txt, images JPEGImages/<name>.jpg, labels
//               SegmentationClass/<name>.png, or SegmentationClassAug/<name>.png for split train_aug
//   cityscapes  leftImg8bit/<split>/<city>/<id>_leftImg8bit.png with
//               gtFine/<split>/<city>/<id>_gtFine_labelIds.png
//   ade20k      ADEChallengeData2016: images/<training|validation>/*.jpg with
//               annotations/<same>/*.png (split train or training, val or validation)
//   list        SPLIT is a text file (relative to ROOT, or absolute) of `image label` lines; relative
//               paths in it are relative to ROOT
// Samples come in a fixed order (the list's, or sorted names). A missing folder or list is a
// UserError naming it; missing sample files are found when the sample is read.

#include <string>
#include <vector>

namespace atrous::data {

struct SampleSource {
  std::string name;
  std::string image_path;
  std::string label_path;
};

std::vector<SampleSource> list_samples(const std::string& format, const std::string& root,
                                       const std::string& split);

// The file list_samples reads the split's samples from (VOC's ImageSets/Segmentation/<split>.txt,
// the list format's split file), an input pack must not overwrite; "" for the formats that walk
// folders (cityscapes, ade20k).
std::string split_list_file(const std::string& format, const std::string& root, const std::string& split);

const std::vector<std::string>& source_formats();

}  // namespace atrous::data
