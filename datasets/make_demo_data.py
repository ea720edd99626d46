#!/usr/bin/python3
"""Writes the demo dataset: procedurally drawn scenes in the layout of PASCAL VOC 2012.

    datasets/make_demo_data.py --out DIR [--train 3000] [--val 200] [--seed 0]

DIR/VOC2012/JPEGImages/<name>.jpg           RGB scenes of varied sizes and aspect ratios
DIR/VOC2012/SegmentationClass/<name>.png    palette PNGs: class indices, 255 on object boundaries
DIR/VOC2012/ImageSets/Segmentation/{train,val}.txt

Classes: 0 background, 1 disc, 2 box, 3 triangle, 4 ring (datasets/demo.ini describes them). Each
scene has a light, textured, noisy background and one or two dark, flat shapes of random size,
colour, position and (triangles) rotation that do not overlap; every class is drawn from the same
colours, so only the shape tells the classes apart (datasets/README.md says what makes the task
hard). Like VOC, a band of 255 (ignore) outlines every object. The same seed writes byte-identical
files.
"""
import argparse
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ["background", "disc", "box", "triangle", "ring"]
IGNORE = 255


def voc_palette():
    """PASCAL VOC's colour map: bits of the class index spread over R, G and B."""
    palette = []
    for index in range(256):
        r = g = b = 0
        value = index
        for shift in range(7, -1, -1):
            r |= (value & 1) << shift
            g |= ((value >> 1) & 1) << shift
            b |= ((value >> 2) & 1) << shift
            value >>= 3
        palette.extend((r, g, b))
    return palette


def background(rng, width, height):
    """Light: a colour of 150-230 per channel, a gentle gradient, a wave texture and strong noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(150, 230, size=3)
    tilt = rng.uniform(-0.1, 0.1, size=(2, 3))
    frequency = rng.uniform(0.02, 0.15, size=2)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    texture = 18 * np.sin(frequency[0] * x + phase[0]) * np.cos(frequency[1] * y + phase[1])
    image = base + x[..., None] * tilt[0] + y[..., None] * tilt[1] + texture[..., None]
    return image + rng.normal(0, 20, size=image.shape)


def shape_mask(rng, kind, width, height):
    """A boolean mask of one shape of class `kind` somewhere in the scene."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    size = rng.uniform(0.25, 0.5) * min(width, height)
    cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
    if kind == 1:
        draw.ellipse([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2], fill=1)
    elif kind == 2:
        aspect = rng.uniform(0.6, 1.6)
        draw.rectangle([cx - size * aspect / 2, cy - size / aspect / 2, cx + size * aspect / 2, cy + size / aspect / 2],
                       fill=1)
    elif kind == 3:
        angle = rng.uniform(0, 2 * np.pi)
        corners = [(cx + size / 1.6 * np.cos(angle + k * 2 * np.pi / 3), cy + size / 1.6 * np.sin(angle + k * 2 * np.pi / 3))
                   for k in range(3)]
        draw.polygon(corners, fill=1)
    else:
        draw.ellipse([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2], fill=1)
        inner = size * rng.uniform(0.25, 0.35)
        draw.ellipse([cx - inner, cy - inner, cx + inner, cy + inner], fill=0)
    return np.array(mask, dtype=bool)


def grow(mask, size):
    """The mask dilated by a size x size square."""
    return np.array(Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(size))) > 0


def scene(rng):
    width, height = int(rng.integers(160, 321)), int(rng.integers(160, 321))
    image = background(rng, width, height)
    label = np.zeros((height, width), dtype=np.uint8)
    boundary = np.zeros((height, width), dtype=bool)
    taken = np.zeros((height, width), dtype=bool)  # the shapes so far, with a 4-pixel margin
    for _ in range(int(rng.integers(1, 3))):
        kind = int(rng.integers(1, len(CLASSES)))
        for _attempt in range(20):  # a place that overlaps no earlier shape, or none
            mask = shape_mask(rng, kind, width, height)
            if mask.any() and not (mask & taken).any():
                break
        else:
            continue
        taken |= grow(mask, 9)
        # Dark (0-90 per channel) and nearly flat, whatever the class.
        colour = rng.uniform(0, 90, size=3)
        shading = rng.normal(0, 4, size=(height, width, 1))
        image[mask] = (colour + shading)[mask]
        label[mask] = kind
        # A 255 band over the object's outline, as VOC marks boundaries.
        shrunk = ~grow(~mask, 5)
        boundary |= grow(mask, 5) & ~shrunk
    label[boundary] = IGNORE
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB"), label


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write VOC2012/ into")
    parser.add_argument("--train", type=int, default=3000, help="training scenes (default 3000)")
    parser.add_argument("--val", type=int, default=200, help="validation scenes (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files (default 0)")
    args = parser.parse_args()
    if args.train < 0 or args.val < 0 or args.train + args.val == 0:
        parser.error("--train and --val must be >= 0 and not both 0")
    root = os.path.join(args.out, "VOC2012")
    for folder in ("JPEGImages", "SegmentationClass", os.path.join("ImageSets", "Segmentation")):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    palette = voc_palette()
    rng = np.random.default_rng(args.seed)
    splits = {"train": [], "val": []}
    for number in range(args.train + args.val):
        split = "train" if number < args.train else "val"
        name = f"demo_{number:05d}"
        image, label = scene(rng)
        image.save(os.path.join(root, "JPEGImages", name + ".jpg"), quality=92)
        indexed = Image.fromarray(label, "P")
        indexed.putpalette(palette)
        indexed.save(os.path.join(root, "SegmentationClass", name + ".png"))
        splits[split].append(name)
    for split, names in splits.items():
        with open(os.path.join(root, "ImageSets", "Segmentation", split + ".txt"), "w") as listing:
            listing.writelines(name + "\n" for name in names)
    print(f"wrote {args.train} train and {args.val} val scenes to {root}")


if __name__ == "__main__":
    main()
