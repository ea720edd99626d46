#!/usr/bin/env python3
"""The size limits of atrous's C++ code: no file over 500 lines, no function over 60 lines.

Usage: check_limits.py ROOT [--max-file-lines N] [--max-function-lines N]
Scans ROOT/{include,src,tests,bench} for .h and .cpp files and prints every file and function over
its limit (path:line, name, length); exits 1 if there is any, 0 otherwise.

A function is measured from the line where its signature starts to the line of its closing brace
(a lambda counts towards the function that holds it). The scan is lexical: comments, string and
character literals are blanked first; a '{' opens a function body when the text before it (since
the previous ';', '{' or '}') ends a parameter list, optionally followed by qualifiers, a trailing
return type or a constructor's initialiser list, and is not a control statement (if, for, while,
switch, catch), nor a class, struct, union, enum or namespace head. Lines inside macros are scanned
like any other.
"""
import argparse
import pathlib
import re
import sys

CONTROL = re.compile(r"^\s*(?:}\s*)?(?:else\s+)?(if|for|while|switch|catch|do|else|try)\b")
TYPE_HEAD = re.compile(r"\b(namespace|class|struct|union|enum)\b[^()]*$")
SIGNATURE = re.compile(r"\)\s*(?:const|override|final|noexcept(?:\([^)]*\))?|mutable|->\s*[\w:<>,\s*&]+|\s)*"
                       r"(?::\s*[\w:<>]+\s*[({][^;]*)?$", re.S)


def blank_comments_and_literals(text):
    """The source with comments and literals replaced by spaces, newlines kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'" and not (c == "'" and i > 0 and text[i - 1].isalnum()):  # 1'000 digit separators
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """(name, first line, last line) of every outermost function body in `text`."""
    code = blank_comments_and_literals(text)
    stack = []  # per open brace: True when it opened an outermost function body
    head_start = 0
    inside_function = 0
    found = []
    for i, c in enumerate(code):
        if c == "{":
            head = code[head_start:i]
            is_function = False
            if not inside_function and not CONTROL.match(head) and not TYPE_HEAD.search(head):
                stripped = head.strip()
                is_function = "(" in stripped and SIGNATURE.search(stripped) is not None and \
                    not re.search(r"=\s*$", stripped) and not stripped.startswith("#")
            if is_function:
                first = code.count("\n", 0, head_start + len(head) - len(head.lstrip())) + 1
                name = re.findall(r"([~\w:]+(?:operator\S*)?)\s*\(", head)
                stack.append((True, first, name[0] if name else "?"))
                inside_function += 1
            else:
                stack.append((False, 0, ""))
            head_start = i + 1
        elif c == "}":
            if stack:
                opened, first, name = stack.pop()
                if opened:
                    inside_function -= 1
                    found.append((name, first, code.count("\n", 0, i) + 1))
            head_start = i + 1
        elif c == ";":
            head_start = i + 1
        elif c == "\n" and code[head_start:i].lstrip().startswith("#"):
            head_start = i + 1  # a preprocessor line is no part of the next head
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--max-file-lines", type=int, default=500)
    parser.add_argument("--max-function-lines", type=int, default=60)
    args = parser.parse_args()
    root = pathlib.Path(args.root)
    files = sorted(p for d in ("include", "src", "tests", "bench") for p in (root / d).rglob("*")
                   if p.suffix in (".h", ".cpp"))
    if not files:
        print(f"check_limits: no C++ files under {root}", file=sys.stderr)
        return 2
    problems = []
    longest = (0, "")
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        rel = path.relative_to(root)
        if lines > args.max_file_lines:
            problems.append(f"{rel}: {lines} lines (limit {args.max_file_lines})")
        for name, first, last in functions(text):
            length = last - first + 1
            longest = max(longest, (length, f"{rel}:{first} {name}"))
            if length > args.max_function_lines:
                problems.append(f"{rel}:{first}: function {name} has {length} lines "
                                f"(limit {args.max_function_lines})")
    for problem in problems:
        print(problem)
    print(f"check_limits: {len(files)} files; longest function {longest[0]} lines ({longest[1]}); "
          f"{len(problems)} over the limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
