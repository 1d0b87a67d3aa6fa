"""Every code example of the READMEs and the public headers compiles and links, with GCC (the
project's compiler) and clang 14, against the build tree's headers and libraries (issue 19: the
async example of <smtp/async_client.hpp> did not compile with GCC 12).

The examples are extracted by doc_examples.py; each is compiled as one program, with the
project's warnings as errors. Not run: they talk to mail.example.com."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from doc_examples import REPO, all_examples

EXAMPLES = all_examples()
COMPILERS = {"gcc": "g++", "clang": "clang++-14"}
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Werror"]


def build_dir() -> Path | None:
    env = os.environ.get("SMTPKIT_BUILD_DIR")
    candidates = [Path(env)] if env else [REPO / "build" / p for p in ("ci", "dev", "sanitize")]
    for c in candidates:
        if list(c.glob("**/libsmtp_client.a")):
            return c
    return None


def sanitize_flags(build: Path) -> list[str]:
    """A sanitized build's archives need the same runtimes at link time."""
    cache = build / "CMakeCache.txt"
    text = cache.read_text(errors="replace") if cache.exists() else ""
    m = re.search(r"^SMTPKIT_SANITIZE:\w+=(.+)$", text, re.M)
    if not m or not m.group(1).strip():
        return []
    flags = [f"-fsanitize={m.group(1).strip()}"]
    # As cmake/warnings.cmake: clang 14 cannot emit -fsanitize=function's prologue data for
    # coroutine frames ("Cannot represent a difference across sections").
    if "undefined" in m.group(1):
        flags.append("-fno-sanitize=function")
    return flags


def build_compiler(build: Path) -> str | None:
    """The C++ compiler a build tree was configured with (CMAKE_CXX_COMPILER)."""
    cache = build / "CMakeCache.txt"
    text = cache.read_text(errors="replace") if cache.exists() else ""
    m = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.+)$", text, re.M)
    return m.group(1).strip() if m else None


def test_the_documentation_has_examples():
    names = {e.source for e in EXAMPLES}
    # The ones issue 19 names: client/README's, the async header's, and the pool's.
    assert "client/README.md" in names and "client/include/smtp/async_client.hpp" in names, names
    assert any("AsyncPool" in e.code for e in EXAMPLES), "no AsyncPool example"
    assert any("std::nullopt, 30)" in e.code for e in EXAMPLES), "no plain-seconds timeout example"


@pytest.mark.parametrize("compiler", sorted(COMPILERS))
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_compiles_and_links(example, compiler, tmp_path):
    cxx = shutil.which(COMPILERS[compiler])
    if cxx is None:
        pytest.skip(f"{COMPILERS[compiler]} is not installed (ci/install-deps.sh installs it)")
    build = build_dir()
    if build is None:
        pytest.skip("no build tree with libsmtp_client.a (./ci/build.sh ci)")
    flags = sanitize_flags(build)
    built_with = build_compiler(build)
    if flags and built_with and Path(built_with).name != Path(cxx).name:
        pytest.skip(f"{build} is sanitized and built by {built_with}: its archives link only with "
                    f"that compiler's sanitizer runtimes; the plain build (step 1 of ci/test.sh) "
                    f"compiles this example with {COMPILERS[compiler]}")
    source = tmp_path / "example.cpp"
    source.write_text(example.translation_unit())
    includes = [f"-I{d}" for d in sorted([*REPO.glob("*/include"), *REPO.glob("*/*/include")])
                if (d / "smtp").is_dir()]
    archives = [str(a) for a in sorted(build.glob("**/libsmtp_*.a"))]
    argv = [cxx, "-std=c++20", *WARNINGS, *flags, *includes, str(source),
            "-o", str(tmp_path / "example"), "-Wl,--start-group", *archives, "-Wl,--end-group",
            "-lssl", "-lcrypto", "-pthread"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"{example.name} does not compile with {compiler}:\n{proc.stderr[-6000:]}\n"
        f"--- the program compiled ---\n{example.translation_unit()}")
