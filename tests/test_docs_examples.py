"""The code in README.md and docs/*.md runs as written.

Every ```python block of README.md and docs/*.md is executed, and every ``nevsim ...`` line of
README.md's ```bash blocks is run through typer's ``CliRunner`` (exit code 0 expected).

Namespaces: README.md builds on its earlier blocks (``import nevsim`` once, then ``res`` from
the Monte Carlo block is reused by the regions block), so its blocks run in order in one
namespace (:data:`SHARED_NAMESPACE`). Every other page's blocks must each run on their own, in a
fresh namespace, as a reader who copies one block would run it.

Opting out: an HTML comment on the line(s) right above the fence,

    <!-- doctest: skip (why) -->                    the whole block is not run
    <!-- doctest: skip "nevsim sweep x" (why) -->  in a bash block: lines starting with that text

Skipped blocks and lines are reported as pytest skips with their reason (``-ra`` lists them),
and :func:`test_skips_are_few_and_explained` counts them against a small budget. Without a
marker, ``nevsim serve`` (a server that does not return) and ``make``/``source`` lines are not
run. An unknown ``doctest:`` comment is an error, so a typo cannot silently skip a block.

Isolation: the working directory is a temporary folder holding a copy of ``docs/examples``
(README's ``nevsim outlook docs/examples/norway.toml`` is written relative to a clone's root),
so ``--out``/``--plot`` files land there; the results store (``nevsim.store.default_path``,
platformdirs' user data folder, ``$XDG_DATA_HOME/nevsim`` on Linux) is moved into another
temporary folder both by ``XDG_DATA_HOME`` and by patching ``default_path``. No user file is
touched.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import nevsim.cli
import nevsim.store

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: Pages whose python blocks build on their earlier blocks (one namespace, run in order).
SHARED_NAMESPACE = {"README.md"}

#: At most this many skipped blocks/lines over all pages: skips stay rare.
SKIP_BUDGET = 3

#: CLI lines never run (no marker needed): a server that does not return.
NEVER_RUN_CLI = ("nevsim serve",)

_FENCE = re.compile(r"^```(\w+)\s*$")
_MARKER = re.compile(r"^<!--\s*doctest:(.*)-->\s*$")
_SKIP = re.compile(r'^\s*skip(?:\s+"(?P<prefix>[^"]+)")?\s+\((?P<reason>[^)]+.*)\)\s*$')


@dataclass
class Block:
    page: str
    line: int  # line of the opening fence (1-based)
    lang: str
    code: str
    skip_reason: str | None = None  # the whole block
    skip_lines: dict[str, str] = field(default_factory=dict)  # bash: line prefix -> reason

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """The fenced ```python and ```bash blocks of one page, with their doctest markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        block = Block(path.name, start + 1, m.group(1), "\n".join(lines[start + 1 : j]) + "\n")
        k = start - 1
        while k >= 0 and (mk := _MARKER.match(lines[k].strip())):
            sk = _SKIP.match(mk.group(1))
            if sk is None:
                raise ValueError(f"{path.name}:{k + 1}: unknown doctest marker {lines[k].strip()!r}; "
                                 'allowed: <!-- doctest: skip (why) -->, <!-- doctest: skip "PREFIX" (why) -->')
            if sk.group("prefix"):
                block.skip_lines[sk.group("prefix")] = sk.group("reason")
            else:
                block.skip_reason = sk.group("reason")
            k -= 1
        if block.lang in ("python", "bash"):
            blocks.append(block)
        i = j + 1
    return blocks


ALL_BLOCKS = [b for page in PAGES for b in parse_blocks(page)]
PYTHON_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "python"]


def cli_lines() -> list[tuple[Block, str]]:
    """Every ``nevsim ...`` command of README.md's bash blocks (comments stripped)."""
    out = []
    for block in ALL_BLOCKS:
        if block.page != "README.md" or block.lang != "bash":
            continue
        for raw in block.code.splitlines():
            words = shlex.split(raw, comments=True)
            if words and words[0] == "nevsim":
                out.append((block, shlex.join(words)))
    return out


CLI_LINES = cli_lines()


# ---------------------------------------------------------------------------- isolation


@pytest.fixture(scope="module")
def docs_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """cwd = a temp folder with docs/examples; results store in another temp folder."""
    work = tmp_path_factory.mktemp("docs-cwd")
    shutil.copytree(ROOT / "docs" / "examples", work / "docs" / "examples")
    data_home = tmp_path_factory.mktemp("docs-data-home")
    store_file = data_home / "nevsim" / "runs.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setenv("XDG_DATA_HOME", str(data_home))
        mp.setattr(nevsim.store, "default_path", lambda: store_file)
        mp.setenv("COLUMNS", "200")
        yield work


# ---------------------------------------------------------------------------- python blocks


class _PageState:
    """One namespace per shared page, and how far its blocks have run."""

    def __init__(self) -> None:
        self.ns: dict[str, dict[str, Any]] = {}
        self.done: dict[str, int] = {}


@pytest.fixture(scope="module")
def page_state() -> _PageState:
    return _PageState()


def _exec(block: Block, ns: dict[str, Any]) -> None:
    code = compile(block.code, block.where, "exec")
    exec(code, ns)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.where for b in PYTHON_BLOCKS])
def test_python_block_runs(block: Block, docs_env: Path, page_state: _PageState) -> None:
    if block.skip_reason:
        pytest.skip(f"{block.where}: {block.skip_reason}")
    if block.page not in SHARED_NAMESPACE:
        _exec(block, {"__name__": "__main__"})
        return
    ns = page_state.ns.setdefault(block.page, {"__name__": "__main__"})
    page_blocks = [b for b in PYTHON_BLOCKS if b.page == block.page]
    index = page_blocks.index(block)
    # Run earlier blocks of the page first when this one is selected alone (-k).
    for earlier in page_blocks[page_state.done.get(block.page, 0) : index]:
        if not earlier.skip_reason:
            _exec(earlier, ns)
    page_state.done[block.page] = index + 1  # a failing block is not run again by the next one
    _exec(block, ns)


# ---------------------------------------------------------------------------- README's nevsim lines


@pytest.mark.parametrize(("block", "command"), CLI_LINES, ids=[c for _, c in CLI_LINES])
def test_readme_cli_line_runs(block: Block, command: str, docs_env: Path) -> None:
    for prefix, reason in block.skip_lines.items():
        if command.startswith(prefix):
            pytest.skip(f"{block.where}: {command!r}: {reason}")
    if command.startswith(NEVER_RUN_CLI):
        pytest.skip(f"{command!r}: a server, not run here (tests/web covers it)")
    result = CliRunner().invoke(nevsim.cli.app, shlex.split(command)[1:])
    assert result.exit_code == 0, (f"{block.where}: {command!r} exited {result.exit_code}\n"
                                   f"{result.output[-2000:]}\n{result.exception!r}")


# ---------------------------------------------------------------------------- the harness itself


def test_every_page_has_blocks_and_every_marker_is_used() -> None:
    """The extraction finds the blocks (a changed fence style would silently run nothing)."""
    assert len([b for b in PYTHON_BLOCKS if b.page == "README.md"]) >= 4
    assert len(CLI_LINES) >= 20
    for block in ALL_BLOCKS:
        for prefix in block.skip_lines:
            assert block.lang == "bash", f"{block.where}: a line skip belongs on a bash block"
            assert any(c.startswith(prefix) for b, c in CLI_LINES if b is block), \
                f"{block.where}: skip marker {prefix!r} matches no line of its block"


def test_skips_are_few_and_explained() -> None:
    skips = [(b.where, "block", b.skip_reason) for b in ALL_BLOCKS if b.skip_reason]
    skips += [(b.where, p, r) for b in ALL_BLOCKS for p, r in b.skip_lines.items()]
    report = "\n".join(f"  {where} {what}: {why}" for where, what, why in skips)
    print(f"doc examples: {len(PYTHON_BLOCKS)} python blocks, {len(CLI_LINES)} README nevsim lines; "
          f"{len(skips)} skipped by marker:\n{report}")
    assert all(len(why.strip()) >= 10 for _, _, why in skips), report
    assert len(skips) <= SKIP_BUDGET, f"more than {SKIP_BUDGET} doc examples skipped:\n{report}"


def test_parse_blocks_reads_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('text\n\n<!-- doctest: skip (a fragment) -->\n```python\nx = ...\n```\n\n'
                    '<!-- doctest: skip "nevsim serve" (a server) -->\n```bash\nnevsim serve\nnevsim --help\n```\n'
                    '```python\ny = 1\n```\n', encoding="utf-8")
    first, second, third = parse_blocks(page)
    assert (first.lang, first.line, first.skip_reason) == ("python", 4, "a fragment")
    assert second.skip_lines == {"nevsim serve": "a server"} and second.skip_reason is None
    assert third.skip_reason is None and third.code == "y = 1\n"
    page.write_text("<!-- doctest: skp (typo) -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown doctest marker"):
        parse_blocks(page)
