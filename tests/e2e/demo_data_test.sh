#!/usr/bin/env bash
# demo_data_test.sh GENERATOR: the demo-data generator writes a VOC-layout tree, byte-identical for
# the same seed, with palette PNG labels holding only class indices 0..4 and 255 boundaries.
set -u
generator=$1
# shellcheck source=launch/lib/common.sh
source "$(dirname "$0")/../../launch/lib/common.sh"
make_work_folder

/usr/bin/python3 "$generator" --out "$work/a" --train 4 --val 2 --seed 3 >/dev/null || fail "generator failed"
/usr/bin/python3 "$generator" --out "$work/b" --train 4 --val 2 --seed 3 >/dev/null || fail "generator failed"
/usr/bin/python3 "$generator" --out "$work/c" --train 4 --val 2 --seed 4 >/dev/null || fail "generator failed"
diff -r "$work/a" "$work/b" >/dev/null || fail "the same seed wrote different files"
diff -r "$work/a" "$work/c" >/dev/null && fail "different seeds wrote the same files"
[ "$(wc -l <"$work/a/VOC2012/ImageSets/Segmentation/train.txt")" -eq 4 ] || fail "train.txt does not list 4 names"
[ "$(wc -l <"$work/a/VOC2012/ImageSets/Segmentation/val.txt")" -eq 2 ] || fail "val.txt does not list 2 names"
/usr/bin/python3 - "$work/a/VOC2012" <<'PY' || fail "label check"
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
names = [n.strip() for split in ("train", "val")
         for n in open(os.path.join(root, "ImageSets", "Segmentation", split + ".txt"))]
for name in names:
    image = Image.open(os.path.join(root, "JPEGImages", name + ".jpg"))
    label = Image.open(os.path.join(root, "SegmentationClass", name + ".png"))
    assert image.mode == "RGB" and label.mode == "P", (image.mode, label.mode)
    assert image.size == label.size, (name, image.size, label.size)
    values = set(np.unique(np.array(label)).tolist())
    assert values <= {0, 1, 2, 3, 4, 255}, (name, values)
    assert 255 in values and len(values - {0, 255}) >= 1, (name, values)
    assert tuple(label.getpalette()[3 * 255:3 * 256]) == (224, 224, 192), "not the VOC palette"
print("labels ok")
PY
echo "PASS: demo data deterministic by seed, VOC layout, palette labels with boundaries"
