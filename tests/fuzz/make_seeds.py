#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets into tests/fuzz/seeds/<target>/ (README.md here).

Small on purpose (the whole folder under 320 KB): libFuzzer mutates seeds, so a few small
valid inputs of each kind reach more of a parser per second than large ones. Needs Debian's
python3-numpy, python3-pil, python3-h5py and python3-torch. Existing seeds of the same names are
overwritten; other files (the inputs of failures that fuzzing found, regression-*) are left alone.
Pack seeds have no .h5 suffix: .gitignore leaves out *.h5.
"""
import io
import os
import pathlib
import shutil
import sys

import h5py
import numpy as np
import torch
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def write(target, name, data):
    folder = HERE / "seeds" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)


def options_seeds():
    # Command-line words one per line; after a NUL byte, a config file (options_fuzzer.cpp).
    write("options", "cli", "--train.steps\n20\n--optim.lr=0.01\n--data.flip\nfalse\n--model.merge\nmean\n")
    write("options", "cli_short_help", "-h\n--eval.scales\n0.5,1,1.5\n--model.output_stride=8\n")
    write("options", "config", "--train.steps\n7\n\0[train]\nsteps = 3\n[optim]\nlr = 1e-3\n"
          "[data]\nflip = yes\ntrain = /data/voc train.h5\nbytes = 123456789012\n"
          "[model]\nmerge = sum\noutput_stride = 32\n[infer]\nout = masks\n")
    write("options", "config_bom", b"\0\xef\xbb\xbf# comment\n[eval]\nscales = 1,2\n[log]\nlevel = debug\n")
    write("options", "unknown", "--train.step\n5\n--data.trian=x\n")


def descriptor_seeds():
    for ini in sorted((ROOT / "datasets").glob("*.ini")):
        write("dataset_descriptor", ini.stem, ini.read_bytes())
    write("dataset_descriptor", "explicit", "[dataset]\nname = t\nnum_classes = 3\nclass_names = a, b, c\n"
          "palette = 0 0 0, 128 0 0, 0 128 0\nignore_label = 7\nmean_rgb = 1.5,2,255\n"
          "label_map = 0:0, 7:1, 26:2, 255:7\n")
    write("dataset_descriptor", "minus_one", "[dataset]\nname = m\nnum_classes = 2\nclass_names = x,y\n"
          "label_map = minus_one\n")


def pack(path, samples, height, width, gzip=False, checksums=True, fixed_names=False):
    """A pack as atrous pack writes it (data/pack_format.h, data/pack_writer.cpp)."""
    rng = np.random.default_rng(len(samples) * 100 + height)
    options = dict(maxshape=None, compression="gzip" if gzip else None, fletcher32=checksums)
    with h5py.File(path, "w") as f:
        vlen = h5py.string_dtype("utf-8")
        f.attrs["format"] = np.array("atrous-pack", dtype=vlen)
        f.attrs["version"] = np.int64(1)
        f.attrs["num_classes"] = np.int64(3)
        f.attrs["ignore_label"] = np.int64(255)
        f.attrs["class_names"] = np.array(["background", "disc", "box"], dtype=vlen)
        f.attrs["palette"] = np.array([[0, 0, 0], [128, 0, 0], [0, 128, 0]], dtype=np.uint8)
        f.attrs["mean_rgb"] = np.array([127.5, 127.5, 127.5], dtype=np.float32)
        for key, value in [("interpolation", "image bilinear (align corners), label nearest"),
                           ("resize_policy", "padded to the largest image"), ("source_format", "list"),
                           ("split", "train")]:
            f.attrs[key] = np.array(value, dtype=vlen)
        n = len(samples)

        def rows(name, data, dtype):
            shape = data.shape
            f.create_dataset(name, data=data.astype(dtype), chunks=(1,) + shape[1:],
                             maxshape=(None,) + shape[1:], **{k: v for k, v in options.items() if v})

        rows("images", rng.integers(0, 256, (n, height, width, 3)), np.uint8)
        rows("labels", rng.choice([0, 1, 2, 255], (n, height, width)), np.uint8)
        rows("valid_hw", np.array([[height, width - i % 2] for i in range(n)]).reshape(n, 2), np.int32)
        rows("source_hw", np.array([[height * 2, width * 2]] * n).reshape(n, 2), np.int32)
        names = np.array(samples, dtype="S" if fixed_names else vlen)
        f.create_dataset("names", data=names, chunks=(1,), maxshape=(None,))


def oversized_pack(path, samples, side, fill):
    """A pack whose datasets claim `samples` samples of side x side pixels, far more than was written:
    unwritten chunks read as `fill` (valid_hw, source_hw) or zeros, and the file stays small.
    PackReader once allocated what the shapes asked for (16 bytes a sample at once, H x W x 3 a
    read) before checking them."""
    vlen = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        for key, value in [("format", "atrous-pack"), ("interpolation", "bilinear"),
                           ("resize_policy", "none"), ("source_format", "list"), ("split", "train")]:
            f.attrs[key] = np.array(value, dtype=vlen)
        for key, value in [("version", 1), ("num_classes", 2), ("ignore_label", 255)]:
            f.attrs[key] = np.int64(value)
        f.attrs["class_names"] = np.array(["a", "b"], dtype=vlen)
        f.attrs["palette"] = np.zeros((2, 3), dtype=np.uint8)
        f.attrs["mean_rgb"] = np.array([1, 2, 3], dtype=np.float32)
        for name, row, dtype in [("images", (side, side, 3), np.uint8), ("labels", (side, side), np.uint8),
                                 ("valid_hw", (2,), np.int32), ("source_hw", (2,), np.int32),
                                 ("names", (), vlen)]:
            f.create_dataset(name, shape=(samples,) + row, dtype=dtype, chunks=(1,) + (1,) * len(row),
                             maxshape=(None,) + row, fillvalue=fill if dtype == np.int32 else None)


def pack_seeds(scratch):
    # Regressions, as the fixes' unit tests in tests/unit/pack_layout_test.cpp.
    for name, samples, side, fill in [("regression-2to40-samples", 2**40, 4, 0),
                                      ("regression-2to20-square-samples", 1, 2**20, 1)]:
        oversized_pack(scratch / name, samples, side, fill)
        write("pack_reader", name, (scratch / name).read_bytes())
    for name, arguments in [("two_samples", dict(samples=["a", "b_0001"], height=4, width=5)),
                            ("gzip", dict(samples=["x"], height=3, width=3, gzip=True)),
                            ("fixed_names_no_checksums",
                             dict(samples=["cat", "dog_0001"], height=2, width=3, checksums=False,
                                  fixed_names=True)),
                            ("empty", dict(samples=[], height=2, width=2))]:
        path = scratch / name
        pack(path, **arguments)
        write("pack_reader", name, path.read_bytes())


def self_containment_seeds(scratch):
    """Packs that lead outside themselves (data/self_contained_hdf5.h refuses each, naming where) or
    declare a source size past pack.max_pixels (refused before anything of that size is allocated)."""
    base = scratch / "self_contained_base"
    pack(base, samples=["a"], height=2, width=3, checksums=False)

    def external_storage(f):
        shape, dtype = f["images"].shape, f["images"].dtype
        del f["images"]
        f.create_dataset("images", shape=shape, dtype=dtype, external=[("/etc/hostname", 0, h5py.h5f.UNLIMITED)])

    def external_link(f):
        del f["labels"]
        f["labels"] = h5py.ExternalLink("/etc/hostname", "/labels")

    def soft_link(f):
        del f["valid_hw"]
        f["valid_hw"] = h5py.SoftLink("/source_hw")

    def virtual(f):
        layout = h5py.VirtualLayout(shape=f["source_hw"].shape, dtype=np.int32)
        layout[:] = h5py.VirtualSource("other.h5", "source_hw", shape=f["source_hw"].shape)
        del f["source_hw"]
        f.create_virtual_dataset("source_hw", layout)

    def huge_source(f):
        f["source_hw"][0] = [40000, 40000]

    for name, change in [("outside_external_storage", external_storage), ("outside_external_link", external_link),
                         ("outside_soft_link", soft_link), ("outside_virtual", virtual),
                         ("huge_source_hw", huge_source)]:
        path = scratch / name
        shutil.copy(base, path)
        with h5py.File(path, "r+") as f:
            change(f)
        write("pack_reader", name, path.read_bytes())


def image_seeds():
    rng = np.random.default_rng(7)
    grey = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)

    def png(name, image, **save):
        out = io.BytesIO()
        image.save(out, "PNG", **save)
        write("image_io", name + ".png", out.getvalue())

    for bits in (1, 2, 4):
        png(f"grey{bits}", Image.fromarray(grey >> (8 - bits)), bits=bits)
        png(f"palette{bits}", Image.fromarray(grey >> (8 - bits), "P"), bits=bits)
    png("grey8", Image.fromarray(grey))
    png("grey16", Image.fromarray(grey.astype(np.uint16) * 3, "I;16"))
    png("grey_alpha8", Image.fromarray(np.dstack([grey, grey]), "LA"))
    png("palette8_trns", Image.fromarray(grey % 21, "P"), transparency=0)
    png("rgb8_interlaced", Image.fromarray(rgb), optimize=False, interlace=1)
    png("rgba8", Image.fromarray(np.dstack([rgb, grey])))
    # PIL cannot write 16-bit colour PNGs: these come from numpy through a hand-made IHDR.
    for name, samples, colour_type in [("rgb16", 3, 2), ("rgba16", 4, 6), ("grey_alpha16", 2, 4)]:
        data = (rng.integers(0, 256, (3, 4, samples)) * 257).astype(">u2")
        write("image_io", name + ".png", png16(data, colour_type))

    def jpeg(name, image, **save):
        out = io.BytesIO()
        image.save(out, "JPEG", **save)
        write("image_io", name + ".jpg", out.getvalue())

    jpeg("rgb_baseline", Image.fromarray(rgb), quality=80)
    jpeg("rgb_progressive_444", Image.fromarray(rgb), progressive=True, subsampling=0)
    jpeg("grey", Image.fromarray(grey))
    jpeg("cmyk", Image.fromarray(np.dstack([rgb, grey]), "CMYK"))


def png16(data, colour_type):
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    height, width = data.shape[:2]
    raw = b"".join(b"\0" + data[y].tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def torch_zip_seeds():
    torch.manual_seed(0)
    model = {"backbone.conv1.weight": torch.randn(2, 1, 2, 2), "bn.running_mean": torch.zeros(2),
             "bn.num_batches_tracked": torch.tensor(3), "head.bias": torch.arange(3, dtype=torch.float64)}

    def save(name, value):
        out = io.BytesIO()
        torch.save(value, out)
        write("torch_zip", name, out.getvalue())

    save("state_dict", model)
    # An atrous checkpoint, as train/checkpoint.cpp writes it. No dict of one entry: Python pickles it
    # with SETITEM, an opcode that LibTorch 1.13's unpickler does not know.
    save("checkpoint", {"format": "atrous-checkpoint", "version": 1, "step": 5, "epoch": 0, "position": 40,
                        "world_size": 2, "seed": 1, "config": "[train]\nsteps = 5\n",
                        "model": {"w": torch.ones(2, 2), "b": torch.zeros(2)},
                        "velocity": {"w": torch.zeros(2, 2), "b": torch.ones(2)},
                        "loss_scale": 65536.0, "loss_scale_good_steps": 3})
    sectioned_checkpoint_seed(save)
    # Regressions: entries of another type made load_checkpoint throw LibTorch's c10::Error.
    checkpoint = {"format": "atrous-checkpoint", "version": "1", "step": 2.5, "epoch": 0, "position": 0,
                  "world_size": 1, "seed": 1, "config": 3, "model": {"w": 1.0, "b": torch.ones(1)},
                  "velocity": {1: torch.ones(1), 2: torch.ones(1)}}
    save("regression-checkpoint-types", checkpoint)
    save("shared_and_strided",
         {"a": model["head.bias"], "b": model["head.bias"][1:], "t": torch.ones(3, 2).t()})
    python_saved_seeds(save)


def sectioned_checkpoint_seed(save):
    """An atrous checkpoint of format version 3: one dict per section (train/checkpoint.h)."""
    save("checkpoint_sections", {
        "format": "atrous-checkpoint", "version": 3,
        "run": {"step": 5, "config": "[train]\nsteps = 5\n"},
        "data": {"seed": 1, "world_size": 2, "epoch": 0, "position": 40},
        "model": {"w": torch.ones(2, 2), "b": torch.zeros(2)},
        "optimizer": {"name": "sgd", "steps": 5,
                      "state": {"velocity/w": torch.zeros(2, 2), "velocity/b": torch.ones(2)}},
        "loss_scaler": {"scale": 65536.0, "good_steps": 3}})


def python_saved_seeds(save):
    """Files only core/torch_pickle.h reads: LibTorch's reader fails on an OrderedDict (a state dict, with
    its _metadata) and on a dict of one entry (SETITEM); a whole module is refused by name."""
    torch.manual_seed(1)
    layers = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    save("ordered_state_dict", layers.state_dict())
    save("one_entry_dict", {"w": torch.arange(4, dtype=torch.float16).view(2, 2)})
    save("module", torch.nn.Conv2d(1, 1, 1))


def main():
    scratch = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"atrous-fuzz-seeds-{os.getpid()}"
    scratch.mkdir()
    try:
        options_seeds()
        descriptor_seeds()
        pack_seeds(scratch)
        self_containment_seeds(scratch)
        image_seeds()
        torch_zip_seeds()
    finally:
        shutil.rmtree(scratch)
    total = sum(p.stat().st_size for p in (HERE / "seeds").rglob("*") if p.is_file())
    print(f"seeds: {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
