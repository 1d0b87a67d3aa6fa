"""The code examples of the documentation, extracted so the tests can compile them (issue 19).

Sources: every ```cpp block of the project's Markdown files, and every comment block of a public
header introduced by a line `// Example (compiled by the tests):` (the block is the `//   `
lines that follow, up to the first line that is not one).

An example becomes one translation unit: its `#include` lines first (after <smtp/smtp.hpp> and a
few standard headers), then the rest as written when it defines `main`, otherwise inside
`int main() { ... return 0; }`. So an example must declare the names it uses: what a reader
copies compiles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARKER = "// Example (compiled by the tests):"
PRELUDE = """#include <smtp/smtp.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <vector>
"""
SKIP_DIRS = {"build", "out", ".git", "node_modules"}


@dataclass
class Example:
    source: str  # path relative to the repository
    line: int    # first line of the code
    code: str

    @property
    def name(self) -> str:
        return f"{self.source}:{self.line}"

    def translation_unit(self) -> str:
        includes, body = [], []
        for text in self.code.splitlines():
            (includes if text.lstrip().startswith("#include") else body).append(text)
        rest = "\n".join(body)
        header = PRELUDE + "\n".join(includes) + "\n"
        marker = f'#line {self.line} "{self.source}"\n'
        if re.search(r"\bint\s+main\s*\(", rest):
            return header + marker + rest + "\n"
        return (header + "int main() {\n" + marker + rest + "\n  return 0;\n}\n")


def markdown_files() -> list[Path]:
    return sorted(p for p in REPO.rglob("*.md")
                  if not SKIP_DIRS & set(p.relative_to(REPO).parts))


def header_files() -> list[Path]:
    return sorted(p for p in REPO.glob("**/include/smtp/**/*.hpp")
                  if not SKIP_DIRS & set(p.relative_to(REPO).parts))


def from_markdown(path: Path) -> list[Example]:
    out, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```cpp":
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            out.append(Example(str(path.relative_to(REPO)), start + 1, "\n".join(lines[start:j])))
            i = j
        i += 1
    return out


def from_header(path: Path) -> list[Example]:
    out, lines = [], path.read_text().splitlines()
    for i, text in enumerate(lines):
        if text.strip() != MARKER:
            continue
        code, j = [], i + 1
        while j < len(lines) and (lines[j].startswith("//   ") or lines[j].strip() == "//"):
            if lines[j].strip() == "//" and (j + 1 >= len(lines) or not lines[j + 1].startswith("//   ")):
                break
            code.append(lines[j][5:] if lines[j].startswith("//   ") else "")
            j += 1
        out.append(Example(str(path.relative_to(REPO)), i + 2, "\n".join(code)))
    return out


def all_examples() -> list[Example]:
    found = []
    for md in markdown_files():
        found += from_markdown(md)
    for hpp in header_files():
        found += from_header(hpp)
    return found
