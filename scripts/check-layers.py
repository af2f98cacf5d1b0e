#!/usr/bin/env python3
"""Checks the shape of the source tree (run by ctest as `source_layers`):

- includes between folders of src/ follow the layer table below (so no folder cycles);
- no file in src/, worker/ or ctl/ is over 600 lines, no function over 120 lines.

Usage: check-layers.py SOURCE_DIR
"""
import pathlib
import re
import sys

# Each folder of src/ and the folders it may include. Lower layers never include higher ones.
ALLOWED = {
    "base": set(),
    "model": set(),
    "proto": {"base", "model"},
    "crypto": {"base"},
    "db": {"base"},
    "kit": {"base", "crypto", "db"},
    "audit": {"base", "crypto", "model"},
    "auth": {"audit", "base", "crypto", "model", "proto"},
    "chat": {"audit", "auth", "base", "model", "proto"},
    "storage": {"audit", "auth", "base", "chat", "crypto", "db", "model"},
    "files": {"base", "crypto", "proto"},
    "media": {"base"},
    "queue": {"base", "crypto", "db", "kit", "model", "proto", "storage"},
    "email": {"auth", "base", "crypto", "proto"},
    "api": {"audit", "auth", "base", "chat", "crypto", "files", "kit", "model", "proto", "queue"},
    "net": {"api", "base", "crypto", "proto"},
    "app": None,  # the composition root may use everything
}
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 120
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
NOT_A_FUNCTION = re.compile(r"^(namespace|using|template|struct|class|enum|union|extern|static_assert|#|//|}|\s|$)")


def include_problems(src: pathlib.Path):
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        name = folder.name
        if name not in ALLOWED:
            yield f"src/{name}/: not in the layer table of scripts/check-layers.py"
            continue
        allowed = ALLOWED[name]
        if allowed is None:
            continue
        for f in sorted(folder.glob("*.[ch]pp")):
            for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) != name and m.group(1) not in allowed:
                    yield f"{f.relative_to(src.parent)}:{n}: {name}/ may not include {m.group(1)}/"


def long_functions(path: pathlib.Path, lines):
    """Namespace-scope definitions: from a line at column 0 to the next closing '}' at column 0."""
    start = None
    for n, line in enumerate(lines, 1):
        if start is None:
            if not NOT_A_FUNCTION.match(line) and "(" in line and not line.rstrip().endswith(";"):
                start = n
        elif line.startswith("}"):
            if n - start + 1 > MAX_FUNCTION_LINES:
                yield f"{path}:{start}: function of {n - start + 1} lines (at most {MAX_FUNCTION_LINES})"
            start = None
        elif line.rstrip().endswith(";") and not line.startswith(" ") and start == n - 1:
            start = None  # a declaration spread over two lines


def size_problems(root: pathlib.Path):
    for top in ("src", "worker", "ctl"):
        for f in sorted((root / top).rglob("*.[ch]pp")):
            lines = f.read_text(errors="replace").splitlines()
            rel = f.relative_to(root)
            if len(lines) > MAX_FILE_LINES:
                yield f"{rel}: {len(lines)} lines (at most {MAX_FILE_LINES})"
            if f.suffix == ".cpp":
                yield from long_functions(rel, lines)


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = list(include_problems(root / "src")) + list(size_problems(root))
    for p in problems:
        print(p)
    print(f"source layers: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
