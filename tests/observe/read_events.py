#!/usr/bin/python3
"""Reads TensorBoard event files independently of atrous, checks them and prints their events.

Usage: read_events.py [--allow-truncated-tail] [--merge] PATH...

PATH is an event file, or a directory whose events.out.tfevents.* files are read in name order. The
check is independent of src/observe: the framing is read here (TFRecord: uint64 little-endian
length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of the data, both uint32
little-endian; the CRCs from the crc32c module), and each record is parsed as an Event by code that
protoc generates at run time from tensorboard_event.proto, next to this script. Every file must
hold at least one record, and its first event must carry a file_version "brain.Event:...".

Output, one JSON line per event:
  {"file": PATH, "wall_time": W, "step": S, "file_version": V (only when set),
   "scalars": {TAG: VALUE}, "images": {TAG: {"height": H, "width": W, "colorspace": C,
   "png_bytes": N, "png_signature_ok": BOOL}}}
Scalars are float32 values widened to float; NaN and infinities print as NaN, Infinity and -Infinity
(Python's json module reads them back).

--merge prints instead one JSON line per tag, {"tag": T, "kind": "scalar" or "image", "steps": [...]},
the tag's steps over all the files, sorted, after TensorBoard's restart rule (a SessionLog START at
step S, which a resumed run writes first, drops the steps >= S of the files before it); a step that a
scalar tag then has twice is an error (a resumed run must not log a step again). --allow-truncated-tail accepts a file whose last record is cut short
(a writer still running, or killed mid-write): the partial record is skipped, with a note on stderr.

Exit status: 0 when everything checks, 1 on a framing, CRC or parse error, a duplicated scalar step
or a missing tool, 2 on bad usage. Needs Debian's python3-protobuf, python3-crc32c and
protobuf-compiler (protoc), so run it with /usr/bin/python3.
"""
import argparse
import importlib
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import crc32c
    import google.protobuf.message  # noqa: F401 (the generated module needs protobuf)
except ImportError as missing:
    print("read_events.py: error: %s: needs Debian's python3-protobuf and python3-crc32c; run it with "
          "/usr/bin/python3" % missing, file=sys.stderr)
    sys.exit(1)

PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensorboard_event.proto")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER_BYTES = 12  # length (8) and its CRC (4)
FOOTER_BYTES = 4  # the data's CRC


class CheckError(Exception):
    """An event file that does not check, or a tool that is missing."""


def masked_crc32c(data):
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def compile_proto():
    """The module protoc generates from tensorboard_event.proto."""
    with tempfile.TemporaryDirectory(prefix="read_events_") as out:
        command = ["protoc", "--proto_path=" + os.path.dirname(PROTO), "--python_out=" + out, PROTO]
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except FileNotFoundError:
            raise CheckError("protoc not found: install Debian's protobuf-compiler")
        if result.returncode != 0:
            raise CheckError("protoc failed on %s: %s" % (PROTO, result.stderr.strip()))
        sys.path.insert(0, out)
        try:
            return importlib.import_module("tensorboard_event_pb2")
        finally:
            sys.path.remove(out)


def records(path, data, allow_truncated_tail):
    """(offset, payload) of every record of one file's bytes, after checking its framing."""
    at = 0
    while at < len(data):
        where = "%s: record at byte %d" % (path, at)
        if len(data) - at < HEADER_BYTES:
            if allow_truncated_tail:
                print("%s: skipping a truncated last record (%d header bytes of 12)" % (where, len(data) - at),
                      file=sys.stderr)
                return
            raise CheckError("%s: truncated: %d bytes left, a record header needs 12" % (where, len(data) - at))
        length, length_crc = struct.unpack_from("<QI", data, at)
        if length_crc != masked_crc32c(data[at:at + 8]):
            raise CheckError("%s: the length's CRC does not match (length field %d)" % (where, length))
        end = at + HEADER_BYTES + length + FOOTER_BYTES
        if end > len(data):
            if allow_truncated_tail:
                print("%s: skipping a truncated last record (%d of %d bytes)" % (where, len(data) - at, end - at),
                      file=sys.stderr)
                return
            raise CheckError("%s: truncated: the record needs %d bytes, the file has %d left"
                             % (where, end - at, len(data) - at))
        payload = data[at + HEADER_BYTES:end - FOOTER_BYTES]
        (data_crc,) = struct.unpack_from("<I", data, end - FOOTER_BYTES)
        if data_crc != masked_crc32c(payload):
            raise CheckError("%s: the data's CRC does not match (%d data bytes)" % (where, length))
        yield at, payload
        at = end


def event_line(path, event, where):
    """The JSON object printed for one parsed Event."""
    line = {"file": path, "wall_time": event.wall_time, "step": event.step}
    if event.WhichOneof("what") == "file_version":
        line["file_version"] = event.file_version
    if event.WhichOneof("what") == "session_log":
        line["session_log"] = {1: "START", 2: "STOP", 3: "CHECKPOINT"}.get(event.session_log.status, "UNSPECIFIED")
    scalars, images = {}, {}
    for value in event.summary.value:
        kind = value.WhichOneof("value")
        if kind is None:
            raise CheckError("%s: value %r has neither a simple_value nor an image" % (where, value.tag))
        if value.tag in scalars or value.tag in images:
            raise CheckError("%s: tag %r appears twice in one event" % (where, value.tag))
        if kind == "simple_value":
            scalars[value.tag] = value.simple_value
        else:
            png = value.image.encoded_image_string
            images[value.tag] = {"height": value.image.height, "width": value.image.width,
                                 "colorspace": value.image.colorspace, "png_bytes": len(png),
                                 "png_signature_ok": png.startswith(PNG_SIGNATURE)}
    line["scalars"] = scalars
    line["images"] = images
    return line


def read_file(path, proto, allow_truncated_tail):
    """The event lines of one file."""
    with open(path, "rb") as f:
        data = f.read()
    lines = []
    for at, payload in records(path, data, allow_truncated_tail):
        where = "%s: record at byte %d" % (path, at)
        event = proto.Event()
        try:
            event.ParseFromString(payload)
        except Exception as error:  # google.protobuf.message.DecodeError and its kin
            raise CheckError("%s: not an Event: %s" % (where, error))
        line = event_line(path, event, where)
        if not lines and not line.get("file_version", "").startswith("brain.Event:"):
            raise CheckError("%s: the first event has no file_version \"brain.Event:...\"" % where)
        lines.append(line)
    if not lines and not allow_truncated_tail:
        raise CheckError("%s: holds no records" % path)
    return lines


def event_files(paths):
    """The files to read: the files given, and each directory's event files in name order."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(name for name in os.listdir(path) if name.startswith("events.out.tfevents."))
            if not found:
                raise CheckError("%s: no events.out.tfevents.* files in this directory" % path)
            files += [os.path.join(path, name) for name in found]
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise CheckError("%s: no such file or directory" % path)
    return files


def merged(lines):
    """One line per tag with its sorted steps, as TensorBoard merges them (a SessionLog START at step S
    drops the steps >= S read before it); raises CheckError on a scalar step logged twice."""
    seen = {}  # (kind, tag) -> [(step, file)]
    for line in lines:
        if line.get("session_log") == "START":  # TensorBoard's restart rule: drop steps >= this one
            for key in seen:
                seen[key] = [(step, f) for step, f in seen[key] if step < line["step"]]
        for kind, values in (("scalar", line["scalars"]), ("image", line["images"])):
            for tag in values:
                seen.setdefault((kind, tag), []).append((line["step"], line["file"]))
    out = []
    for (kind, tag), steps in sorted(seen.items(), key=lambda item: (item[0][1], item[0][0])):
        steps.sort()
        if kind == "scalar":
            for (step, first), (next_step, second) in zip(steps, steps[1:]):
                if step == next_step:
                    raise CheckError("scalar tag %r has step %d twice: in %s and in %s" % (tag, step, first, second))
        out.append({"tag": tag, "kind": kind, "steps": [step for step, _ in steps]})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", metavar="PATH", help="an event file or a directory of them")
    parser.add_argument("--merge", action="store_true", help="print each tag's sorted steps over all files")
    parser.add_argument("--allow-truncated-tail", action="store_true",
                        help="skip a cut-short last record of a file instead of failing")
    args = parser.parse_args()
    try:
        proto = compile_proto()
        lines = []
        for path in event_files(args.paths):
            lines += read_file(path, proto, args.allow_truncated_tail)
        for line in merged(lines) if args.merge else lines:
            print(json.dumps(line))
    except (CheckError, OSError) as error:
        print("read_events.py: error: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
