#!/usr/bin/env python3
"""No dead links in atrous's markdown: every relative link and image points at something that exists.

Usage: check_doc_links.py ROOT
Checks the markdown files of ROOT that git knows or would add (`git -C ROOT ls-files --cached
--others --exclude-standard '*.md'`: tracked files, and new ones not yet added unless ignored; without
git, every *.md under ROOT but in hidden folders), leaving out folders named build*. In each it reads
inline links and images, `[text](target)` and `![alt](target)`, and reference definitions,
`[label]: target`:

- a target with a scheme (http:, https:, mailto:, ...) is not checked;
- `path` and `path#anchor` are relative to the file's folder (`/path` to ROOT): the path must exist
  inside ROOT (a file or a folder);
- `#anchor` refers to the same file; an anchor into a markdown file must be one of its headings'
  slugs, as GitHub makes them: the heading's text without its markup, lowercased, every character
  but letters, digits, blanks, '-' and '_' removed, blanks turned into '-', and '-1', '-2', ...
  appended to repeats (an HTML `id="..."` or `name="..."` counts too). An anchor into a file that
  is not markdown (a line of a source file) is not checked.

Links inside fenced code blocks (``` or ~~~), inline code and HTML comments are not links.
Prints every dead link as `FILE:LINE: dead link TARGET (why)` and exits 1 if there is any;
otherwise prints how many links it checked in how many files and exits 0.
"""
import functools
import os
import pathlib
import re
import subprocess
import sys
import urllib.parse

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)*?)(?<!`)\1(?!`)", re.S)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
INLINE_TARGET = re.compile(r"\]\(\s*(<[^>\n]*>|[^\s)]*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[(?!\^)[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)", re.M)
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ID = re.compile(r"""<[a-zA-Z][^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def in_build_folder(name):
    """Whether a path relative to ROOT lies in a folder named build* (a build tree's copies)."""
    return any(part.startswith("build") for part in pathlib.PurePosixPath(name).parts[:-1])


def markdown_files(root):
    """The markdown files to check, as paths relative to root, sorted."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"],
            check=True, capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = []
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = [s for s in subfolders if not s.startswith(("build", "."))]
            listed += [os.path.relpath(os.path.join(folder, f), root) for f in files if f.endswith(".md")]
    return [pathlib.PurePosixPath(name) for name in sorted(set(listed))
            if name and not in_build_folder(name) and (root / name).is_file()]


def blank(match):
    """The matched text with every character but newlines turned into a blank."""
    return re.sub(r"[^\n]", " ", match.group(0))


def prose_lines(text, keep_inline_code=False):
    """The lines of text with fenced code blocks, HTML comments and (unless keep_inline_code) inline
    code blanked, lines kept."""
    lines, fence = [], None
    for line in text.split("\n"):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
            lines.append("")
        elif fence is not None:
            closing = FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                    and not line.strip().strip(fence[0]):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    prose = HTML_COMMENT.sub(blank, "\n".join(lines))
    return (prose if keep_inline_code else INLINE_CODE.sub(blank, prose)).split("\n")


def slug(heading):
    """GitHub's anchor for a heading's text: markup dropped, lowercase, punctuation gone, '-' for blanks."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return "".join("-" if c == " " else c for c in text if c.isalnum() or c in " -_")


@functools.lru_cache(maxsize=None)
def anchors(path):
    """The anchors a markdown file offers: its headings' slugs (repeats numbered) and HTML ids."""
    found, seen = set(), {}
    lines = prose_lines(path.read_text(encoding="utf-8", errors="replace"), keep_inline_code=True)
    for number, line in enumerate(lines):
        found.update(HTML_ID.findall(line))
        atx = ATX_HEADING.match(line)
        underlined = number + 1 < len(lines) and SETEXT_UNDERLINE.match(lines[number + 1])
        if atx:
            heading = atx.group(2) or ""
        elif underlined and line.strip() and not line.startswith(("    ", "\t")) \
                and not line.lstrip().startswith(("-", "*", "+", ">", "|")):
            heading = line
        else:
            continue
        base = slug(heading.replace("`", ""))
        repeat = seen.get(base, 0)
        seen[base] = repeat + 1
        found.add(base if repeat == 0 else f"{base}-{repeat}")
    return found


def links(lines):
    """(line number, target) of every inline link, image and reference definition in the prose."""
    text = "\n".join(lines)
    for pattern in (INLINE_TARGET, REFERENCE):
        for match in pattern.finditer(text):
            target = match.group(1)
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            yield text.count("\n", 0, match.start(1)) + 1, target


def why_dead(root, source, target):
    """Why target, linked from the markdown file source, is dead; None when it is not."""
    if SCHEME.match(target):
        return None
    if not target:
        return "empty target"
    path_part, _, anchor = target.partition("#")
    path_part = urllib.parse.unquote(path_part.split("?", 1)[0])
    if not path_part:
        resolved = root / source
    elif path_part.startswith("/"):
        resolved = root / path_part.lstrip("/")
    else:
        resolved = root / source.parent / path_part
    resolved = pathlib.Path(os.path.normpath(resolved))
    if resolved != root and root not in resolved.parents:
        return "outside the repository"
    if not resolved.exists():
        return "no such file or folder"
    if anchor and resolved.is_file() and resolved.suffix == ".md":
        if urllib.parse.unquote(anchor) not in anchors(resolved):
            where = "this file" if resolved == root / source else resolved.relative_to(root).as_posix()
            return f"no heading #{anchor} in {where}"
    return None


def main(root):
    root = pathlib.Path(os.path.normpath(os.path.abspath(root)))
    dead, checked = [], 0
    files = markdown_files(root)
    for source in files:
        lines = prose_lines((root / source).read_text(encoding="utf-8", errors="replace"))
        for number, target in links(lines):
            checked += 1
            reason = why_dead(root, source, target)
            if reason:
                dead.append(f"{source}:{number}: dead link {target} ({reason})")
    for line in dead:
        print(line)
    if dead:
        return 1
    print(f"{checked} links in {len(files)} markdown files, none dead")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
