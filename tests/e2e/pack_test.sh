#!/usr/bin/env bash
# pack_test.sh ATROUS DATASETS_DIR: `atrous pack` end to end, every pack read back with h5py and
# compared with the source files decoded by PIL (an independent reader):
#   voc (demo data) unresized: pixels and labels identical in the valid region, mean/255 padding;
#   voc --size: the longer side becomes S, labels keep only source values;
#   list with RGB colour masks, cityscapes label ids -> train ids, ade20k 0 -> ignore, k -> k - 1;
#   labels of every PNG bit depth PIL writes, decoded exactly;
#   errors (bad label value, size mismatch, missing root, truncated JPEG, an image over
#   pack.max_pixels) name the file, leave no pack behind, and --skip-bad skips and counts.
set -u
atrous=$1
datasets=$2
# shellcheck source=tests/e2e/common.sh
source "$(dirname "$0")/common.sh"
py() { /usr/bin/python3 - "$@"; }

demo_scenes "$work/demo" 12 4 1
demo=(--descriptor "$datasets/demo.ini")
"$atrous" pack voc --root "$work/demo" --split val --out "$work/val.h5" "${demo[@]}" >"$work/log" 2>&1 ||
  { fail "pack val"; cat "$work/log"; }
"$atrous" pack voc --root "$work/demo" --split train --out "$work/train.h5" --size 97 --compress 4 "${demo[@]}" \
  --threads 2 >"$work/log" 2>&1 || { fail "pack train"; cat "$work/log"; }

py "$work/demo/VOC2012" "$work/val.h5" "$work/train.h5" <<'PY' || fail "voc packs differ from the sources"
import sys
import h5py, numpy as np
from PIL import Image
root, val, train = sys.argv[1:]
with h5py.File(val, "r") as f:
    assert f.attrs["format"] == "atrous-pack" and f.attrs["version"] == 1 and f.attrs["num_classes"] == 5
    assert list(f.attrs["class_names"]) == ["background", "disc", "box", "triangle", "ring"]
    names = [n.decode() if isinstance(n, bytes) else n for n in f["names"][:]]
    assert names == [l.strip() for l in open(f"{root}/ImageSets/Segmentation/val.txt")], names
    N, H, W, _ = f["images"].shape
    for i, name in enumerate(names):
        image = np.array(Image.open(f"{root}/JPEGImages/{name}.jpg").convert("RGB"))
        label = np.array(Image.open(f"{root}/SegmentationClass/{name}.png"))
        h, w = f["valid_hw"][i]
        assert (h, w) == label.shape and tuple(f["source_hw"][i]) == label.shape
        assert np.array_equal(f["images"][i, :h, :w], image), name
        assert np.array_equal(f["labels"][i, :h, :w], label), name
        assert (f["labels"][i, h:, :] == 255).all() and (f["labels"][i, :, w:] == 255).all()
        assert (f["images"][i, h:, :] == 128).all() and (f["images"][i, :, w:] == 128).all()
    assert H == max(f["valid_hw"][:, 0]) and W == max(f["valid_hw"][:, 1])
with h5py.File(train, "r") as f:
    assert f["images"].shape[1:] == (97, 97, 3) and f["images"].compression == "gzip"
    for i in range(f["images"].shape[0]):
        sh, sw = f["source_hw"][i]
        h, w = f["valid_hw"][i]
        assert max(h, w) == 97 and abs(h / w - sh / sw) < 0.05, (h, w, sh, sw)
        name = f["names"][i]
        name = name.decode() if isinstance(name, bytes) else name
        source = set(np.unique(np.array(Image.open(f"{root}/SegmentationClass/{name}.png"))).tolist())
        assert set(np.unique(f["labels"][i, :h, :w]).tolist()) <= source
        # The image against a bilinear (align_corners) reference computed by torch.
        import torch
        original = torch.from_numpy(np.array(Image.open(f"{root}/JPEGImages/{name}.jpg").convert("RGB")))
        reference = torch.nn.functional.interpolate(original.permute(2, 0, 1)[None].float(), size=(int(h), int(w)),
                                                    mode="bilinear", align_corners=True)[0].permute(1, 2, 0)
        difference = (torch.from_numpy(f["images"][i, :h, :w].astype(np.float32)) - reference.round()).abs().max()
        assert difference <= 1, (name, float(difference))
PY

# list format with RGB colour masks (the demo palette is VOC's), cityscapes and ade20k trees.
py "$work" <<'PY' || fail "writing the synthetic datasets"
import os, sys
import numpy as np
from PIL import Image
work = sys.argv[1]
rng = np.random.default_rng(0)
def voc_colour(k):
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= (k & 1) << shift; g |= ((k >> 1) & 1) << shift; b |= ((k >> 2) & 1) << shift; k >>= 3
    return (r, g, b)
os.makedirs(f"{work}/list", exist_ok=True)
with open(f"{work}/list/pairs.txt", "w") as pairs:
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(f"{work}/list/img{i}.png")
        indices = rng.choice([0, 1, 2, 3, 4, 255], (20, 30)).astype(np.uint8)
        np.save(f"{work}/list/idx{i}.npy", indices)
        colours = np.array([voc_colour(int(k)) for k in range(256)], dtype=np.uint8)[indices]
        Image.fromarray(colours).save(f"{work}/list/mask{i}.png")
        pairs.write(f"img{i}.png mask{i}.png\n")
for city in ("aachen",):
    os.makedirs(f"{work}/cs/leftImg8bit/val/{city}", exist_ok=True)
    os.makedirs(f"{work}/cs/gtFine/val/{city}", exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (16, 32, 3), dtype=np.uint8)).save(f"{work}/cs/leftImg8bit/val/{city}/{city}_000000_000019_leftImg8bit.png")
    ids = np.tile(np.array([0, 7, 8, 26, 33, 34, 3, 24], dtype=np.uint8), (16, 4))
    Image.fromarray(ids, mode="L").save(f"{work}/cs/gtFine/val/{city}/{city}_000000_000019_gtFine_labelIds.png")
for folder in ("images", "annotations"):
    os.makedirs(f"{work}/ade/{folder}/validation", exist_ok=True)
Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(f"{work}/ade/images/validation/ADE_val_00000001.jpg")
Image.fromarray(np.tile(np.array([0, 1, 2, 150], dtype=np.uint8), (10, 3)), mode="L").save(f"{work}/ade/annotations/validation/ADE_val_00000001.png")
PY
"$atrous" pack list --root "$work/list" --split pairs.txt --out "$work/list.h5" "${demo[@]}" >"$work/log" 2>&1 ||
  { fail "pack list"; cat "$work/log"; }
"$atrous" pack cityscapes --root "$work/cs" --split val --out "$work/cs.h5" >"$work/log" 2>&1 ||
  { fail "pack cityscapes"; cat "$work/log"; }
"$atrous" pack ade20k --root "$work/ade" --split val --out "$work/ade.h5" >"$work/log" 2>&1 ||
  { fail "pack ade20k"; cat "$work/log"; }
py "$work" <<'PY' || fail "list/cityscapes/ade20k labels"
import sys
import h5py, numpy as np
work = sys.argv[1]
with h5py.File(f"{work}/list.h5", "r") as f:
    for i in range(3):
        assert np.array_equal(f["labels"][i], np.load(f"{work}/list/idx{i}.npy")), i
with h5py.File(f"{work}/cs.h5", "r") as f:
    assert f.attrs["num_classes"] == 19
    assert f["labels"][0, 0, :8].tolist() == [255, 0, 1, 13, 18, 255, 255, 11], f["labels"][0, 0, :8]
with h5py.File(f"{work}/ade.h5", "r") as f:
    assert f.attrs["num_classes"] == 150
    assert f["labels"][0, 0, :4].tolist() == [255, 0, 1, 149], f["labels"][0, 0, :4]
PY

# Labels of every bit depth PIL writes (1-bit grey, 2- and 4-bit palettes, 16-bit grey, grey with
# alpha) are packed exactly. A truncated JPEG and an image over --pack.max_pixels stop the pack, named;
# --skip-bad skips and counts them (the oversized one is not part of the pack's size).
py "$work" <<'PY' || fail "writing the label depth and broken source datasets"
import io, os, struct, sys
import numpy as np
from PIL import Image
work = sys.argv[1]
rng = np.random.default_rng(2)
os.makedirs(f"{work}/depths", exist_ok=True)
voc = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128]
def palette(values, colours):
    image = Image.fromarray(values, mode="P")
    image.putpalette(voc[:3 * colours])
    return image
labels = {  # name: (values, PIL image, PNG bit depth, PNG colour type)
    "one_bit": lambda v: (Image.fromarray(v.astype(bool)), 1, 0),
    "palette2": lambda v: (palette(v % 4, 4), 2, 3),
    "palette4": lambda v: (palette(v, 5), 4, 3),
    "grey16": lambda v: (Image.fromarray(np.where(v == 4, 255, v).astype(np.uint16)), 16, 0),
    "grey_alpha": lambda v: (Image.fromarray(np.stack([v, np.full_like(v, 9)], 2), mode="LA"), 8, 4),
}
with open(f"{work}/depths/pairs.txt", "w") as pairs:
    for name, make in labels.items():
        values = rng.integers(0, 2 if name == "one_bit" else 5, (12, 16)).astype(np.uint8)
        image, depth, colour_type = make(values)
        image.save(f"{work}/depths/{name}.png")
        header = open(f"{work}/depths/{name}.png", "rb").read()[24:26]
        assert struct.unpack(">BB", header) == (depth, colour_type), (name, header)
        stored = np.array(image.convert("L") if name == "grey_alpha" else image).astype(np.uint8)
        np.save(f"{work}/depths/{name}.npy", stored)
        Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).save(f"{work}/depths/{name}.jpg")
        pairs.write(f"{name}.jpg {name}.png\n")
os.makedirs(f"{work}/broken", exist_ok=True)
label = Image.fromarray(np.zeros((12, 16), np.uint8), mode="L")
for name, size in (("good", (32, 24)), ("big", (50, 40)), ("cut", (32, 24))):
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(f"{work}/broken/{name}.png")
    label.resize(size).save(f"{work}/broken/{name}_label.png")
# Cut inside the entropy-coded data, after the header: libjpeg would fill the rest with grey.
photo = io.BytesIO()
Image.open(f"{work}/broken/cut.png").save(photo, "JPEG", quality=95)
open(f"{work}/broken/cut.jpg", "wb").write(photo.getvalue()[:len(photo.getvalue()) * 7 // 10])
assert Image.open(f"{work}/broken/cut.jpg").size == (32, 24)
for split, names in (("cut", ["good", "cut"]), ("big", ["good", "big"]), ("all", ["good", "cut", "big"])):
    with open(f"{work}/broken/{split}.txt", "w") as pairs:
        pairs.writelines(f"{n}.{'jpg' if n == 'cut' else 'png'} {n}_label.png\n" for n in names)
PY
"$atrous" pack list --root "$work/depths" --split pairs.txt --out "$work/depths.h5" "${demo[@]}" >"$work/log" 2>&1 ||
  { fail "pack labels of every bit depth"; cat "$work/log"; }
py "$work" <<'PY' || fail "labels of every bit depth differ from PIL's reading"
import sys
import h5py, numpy as np
work = sys.argv[1]
with h5py.File(f"{work}/depths.h5", "r") as f:
    for i, name in enumerate(n.decode() if isinstance(n, bytes) else n for n in f["names"][:]):
        expected = np.load(f"{work}/depths/{name}.npy")
        assert np.array_equal(f["labels"][i], expected), (name, f["labels"][i], expected)
PY
out=$("$atrous" pack list --root "$work/broken" --split cut.txt --out "$work/bad.h5" "${demo[@]}" 2>&1); status=$?
[ "$status" -eq 1 ] && grep -qF "image file '$work/broken/cut.jpg' is not a readable JPEG: Premature end of JPEG file" <<<"$out" ||
  fail "truncated JPEG: $status $out"
out=$("$atrous" pack list --root "$work/broken" --split big.txt --out "$work/bad.h5" --pack.max_pixels 1000 "${demo[@]}" 2>&1)
status=$?
[ "$status" -eq 1 ] && grep -qF "image file '$work/broken/big.png' is 40 x 50 = 2000 pixels, more than the limit of 1000" <<<"$out" &&
  grep -qF "raise pack.max_pixels" <<<"$out" || fail "image over pack.max_pixels: $status $out"
[ ! -e "$work/bad.h5" ] || fail "a refused source left a pack"
out=$("$atrous" pack list --root "$work/broken" --split all.txt --out "$work/skipped.h5" --pack.max_pixels 1000 --skip-bad \
  "${demo[@]}" 2>&1) || fail "skip-bad with broken sources: $out"
grep -qF "1 samples of 24 x 32, 2 skipped" <<<"$out" || fail "skip-bad with broken sources, summary: $out"

# Errors: a label value outside the classes, a size mismatch, a missing root.
cp "$work/demo/VOC2012/SegmentationClass/$(head -1 "$work/demo/VOC2012/ImageSets/Segmentation/val.txt").png" "$work/keep.png"
bad=$(head -1 "$work/demo/VOC2012/ImageSets/Segmentation/val.txt")
py "$work/demo/VOC2012/SegmentationClass/$bad.png" <<'PY'
import sys
import numpy as np
from PIL import Image
label = Image.open(sys.argv[1]); values = np.array(label); values[0, 0] = 9
out = Image.fromarray(values, mode="P"); out.putpalette(label.getpalette()); out.save(sys.argv[1])
PY
out=$("$atrous" pack voc --root "$work/demo" --split val --out "$work/bad.h5" "${demo[@]}" 2>&1); status=$?
[ "$status" -eq 1 ] || fail "bad label: status $status"
grep -qF "has value 9 at pixel (row 0, column 0)" <<<"$out" && grep -qF "$bad.png" <<<"$out" || fail "bad label message: $out"
[ ! -e "$work/bad.h5" ] && ! compgen -G "$work/.bad.h5.partial-*" >/dev/null || fail "a failed pack left a file"
out=$("$atrous" pack voc --root "$work/demo" --split val --out "$work/skip.h5" --skip-bad "${demo[@]}" 2>&1) ||
  fail "skip-bad: $out"
grep -qF "3 samples" <<<"$out" && grep -qF "1 skipped" <<<"$out" || fail "skip-bad summary: $out"
py "$work/demo/VOC2012/SegmentationClass/$bad.png" <<'PY'
import sys
from PIL import Image
Image.open(sys.argv[1]).resize((7, 5)).save(sys.argv[1])
PY
out=$("$atrous" pack voc --root "$work/demo" --split val --out "$work/bad.h5" "${demo[@]}" 2>&1)
grep -qF "but label" <<<"$out" && grep -qF "they must match" <<<"$out" || fail "size mismatch message: $out"
out=$("$atrous" pack voc --root "$work/nowhere" --split val --out "$work/bad.h5" 2>&1); status=$?
[ "$status" -eq 1 ] && grep -qF "dataset root '$work/nowhere' is not a folder" <<<"$out" || fail "missing root: $status $out"
out=$("$atrous" pack vok --root "$work/demo" --split val --out "$work/bad.h5" 2>&1); status=$?
[ "$status" -eq 2 ] && grep -qF "option --pack.format = vok is not allowed" <<<"$out" || fail "bad format: $status $out"

# --limit packs the first N; a malformed descriptor names the file and the key.
"$atrous" pack list --root "$work/list" --split pairs.txt --out "$work/limit.h5" --limit 2 "${demo[@]}" >/dev/null 2>&1 ||
  fail "pack --limit"
py "$work/limit.h5" <<'PY' || fail "--limit 2 did not pack exactly the first 2 samples"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert [n.decode() if isinstance(n, bytes) else n for n in f["names"][:]] == ["img0", "img1"]
PY
sed 's/^num_classes = 5/num_classes = 4/' "$datasets/demo.ini" >"$work/bad.ini"
out=$("$atrous" pack list --root "$work/list" --split pairs.txt --out "$work/bad.h5" --descriptor "$work/bad.ini" 2>&1)
status=$?
[ "$status" -eq 1 ] && grep -qF "dataset descriptor '$work/bad.ini': class_names has 5 names for 4 classes" <<<"$out" ||
  fail "malformed descriptor: $status $out"
printf '[dataset]\nname = x\nnum_classes = 2\nclass_names = a,b\npalette = 1 2\n' >"$work/bad.ini"
out=$("$atrous" pack list --root "$work/list" --split pairs.txt --out "$work/bad.h5" --descriptor "$work/bad.ini" 2>&1)
grep -qF "palette = '1 2' is not 'r g b'" <<<"$out" || fail "bad palette: $out"
{ cat "$datasets/demo.ini"; printf 'num_classes = 6\n'; } >"$work/bad.ini"
out=$("$atrous" pack list --root "$work/list" --split pairs.txt --out "$work/bad.h5" --descriptor "$work/bad.ini" 2>&1)
grep -qF "dataset descriptor '$work/bad.ini': num_classes is given twice; keep one of its lines" <<<"$out" ||
  fail "a key given twice: $out"
# A VOC split list that names a sample twice is refused, naming the list and the sample.
splits="$work/demo/VOC2012/ImageSets/Segmentation"
{ cat "$splits/val.txt"; head -1 "$splits/val.txt"; } >"$splits/twice.txt"
out=$("$atrous" pack voc --root "$work/demo" --split twice --out "$work/bad.h5" "${demo[@]}" 2>&1)
grep -qF "VOC split list '$splits/twice.txt' names '$(head -1 "$splits/val.txt")' more than once" <<<"$out" ||
  fail "a sample listed twice: $out"
# An output that is an input (here the descriptor) is refused, and the descriptor is kept.
cp "$datasets/demo.ini" "$work/desc.ini"
out=$("$atrous" pack list --root "$work/list" --split pairs.txt --out "$work/desc.ini" --descriptor "$work/desc.ini" 2>&1)
status=$?
[ "$status" -eq 1 ] && grep -qF "pack.out '$work/desc.ini' is the file that pack.descriptor" <<<"$out" &&
  cmp -s "$datasets/demo.ini" "$work/desc.ini" || fail "pack over its descriptor: $status $out"
# So is an output that is the split list being read (it became the HDF5 pack, exit 0).
cp "$work/list/pairs.txt" "$work/list/pairs-copy.txt"
out=$("$atrous" pack list --root "$work/list" --split pairs-copy.txt --out "$work/list/pairs-copy.txt" "${demo[@]}" 2>&1)
status=$?
[ "$status" -eq 1 ] && grep -qF "is the file that pack.split" <<<"$out" &&
  cmp -s "$work/list/pairs.txt" "$work/list/pairs-copy.txt" || fail "pack over its split list: $status $out"

# Checksums: 64 bytes changed inside sample 3's image chunk are named when training reads it.
corrupt_sample "$work/train.h5" "$work/changed.h5" 3
out=$("$atrous" train --data.train "$work/changed.h5" --data.batch_size 2 --data.crop_size 65 --train.steps 6 \
  --train.run_dir "$work/changed-run" --model.backbone mobilenet_v2 --dist.threads 1 2>&1); status=$?
[ "$status" -eq 1 ] && grep -qF "pack '$work/changed.h5': sample 3 is corrupted" <<<"$out" && ! grep -q "HDF5-DIAG" <<<"$out" ||
  fail "a changed sample: $status $(tail -3 <<<"$out")"

finish pack
