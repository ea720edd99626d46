#!/usr/bin/env python3
"""Where atrous's code may create files and open HDF5 inputs: the rule that keeps outputs whole and
written nowhere else (include/atrous/core/output_file.h) and packs reading nothing but themselves
(include/atrous/data/self_contained_hdf5.h).

Usage: check_file_access.py ROOT
Scans ROOT/src for the calls that create, truncate or rename files by name, or open HDF5 files and
datasets, outside the files allowed to make them (below, each with its reason); prints every such
call (path:line and the call) and exits 1 if there is any, 0 otherwise. Comments and string literals
are not scanned. A new output goes through OutputFile (write_file_atomically for a string,
create_hdf5_output for an HDF5 file, create_stream_file for a file read while it grows); a new HDF5
input through open_self_contained_file and open_self_contained_dataset.
"""
import pathlib
import re
import sys

CALLS = {
    "creates or truncates a file by name": re.compile(
        r"\bofstream\b|\bfopen\s*\(|\bO_CREAT\b|\bO_TRUNC\b|\bH5Fcreate\s*\(|\bcreat\s*\(|\bmkstemp|\bcopy_file\s*\("),
    "renames a file": re.compile(r"\brename\s*\(|\brenameat2?\s*\("),
    "opens an HDF5 input": re.compile(r"\bH5Fopen\s*\(|\bH5Dopen2?\s*\(|\bH5Oopen\s*\("),
}

ALLOWED = {
    "src/core/output_file.cpp": "the one writer: temporaries created O_EXCL | O_NOFOLLOW, then renamed",
    "src/data/hdf5_output.cpp": "HDF5 outputs created with H5F_ACC_EXCL at an OutputFile's temporary name",
    "src/data/self_contained_hdf5.cpp": "the one HDF5 opener, refusing links and storage outside the file",
    "src/observe/event_file_writer.cpp": "TensorBoard event files: new names, O_CREAT | O_EXCL",
    "src/train/run_directory.cpp": "the run lock and metrics.jsonl appends: O_NOFOLLOW, under the run lock",
}


def code_only(text):
    """The text with // and /* */ comments and string and character literals blanked, lines kept."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"'(?:\\.|[^'\\\n])*'", "''", text)
    return re.sub(r"//[^\n]*", "", text)


def main(root):
    root = pathlib.Path(root)
    found = []
    for path in sorted((root / "src").rglob("*.cpp")):
        relative = path.relative_to(root).as_posix()
        if relative in ALLOWED:
            continue
        for number, line in enumerate(code_only(path.read_text()).splitlines(), 1):
            for what, pattern in CALLS.items():
                match = pattern.search(line)
                if match:
                    found.append(f"{relative}:{number}: {match.group(0).strip()} {what}; use "
                                 "core/output_file.h (outputs) or data/self_contained_hdf5.h (HDF5 inputs)")
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
