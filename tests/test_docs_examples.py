"""The code in README.md and docs/*.md runs as written.

Every ```python block of README.md and docs/*.md is executed, and every ``nevsim ...`` line of
their shell blocks (```bash, ```sh, ```console, a fence with no language; indented fences too)
is run through typer's ``CliRunner`` (exit code 0 expected). In a ```console block only the
``$ `` lines are commands (the rest is output); a line ending in a backslash continues on the next.
A command piped to ``jq`` (``nevsim outlook --json | jq '.targets[]'``) must print JSON, and the
filter is run by ``jq`` when it is installed.

Example ids: the docs write a run id and a sweep id as ``3f2a9c`` and ``1a2b3c``
(:data:`EXAMPLE_IDS`); the test puts the first characters of the newest stored run or sweep in
their place, so ``nevsim report 3f2a9c`` checks that a prefix of a real id is enough. Files the
docs name as the reader's own are written first (:data:`READER_FILES`: ``my-sweep.toml`` is a
copy of the shipped sweep).

Namespaces: README.md builds on its earlier blocks (``import nevsim`` once, then ``res`` from
the Monte Carlo block is reused by the regions block), so its blocks run in order in one
namespace (:data:`SHARED_NAMESPACE`). Every other page's blocks must each run on their own, in a
fresh namespace, as a reader who copies one block would run it.

Opting out: an HTML comment on the line(s) right above the fence,

    <!-- doctest: skip (why) -->                    the whole block is not run
    <!-- doctest: skip "nevsim sweep x" (why) -->  in a shell block: lines starting with that text

Skipped blocks and lines are reported as pytest skips with their reason (``-ra`` lists them),
and :func:`test_skips_are_few_and_explained` counts them against a small budget. Without a
marker, ``nevsim serve`` (a server that does not return) is not run, nor any line that is not a
``nevsim`` command (``make``, ``curl``, ``dask scheduler``). An unknown ``doctest:`` comment is an error, so a typo cannot silently skip a block.

Isolation: the working directory is a temporary folder holding a copy of ``docs/examples``
(README's ``nevsim outlook docs/examples/norway.toml`` is written relative to a clone's root),
so ``--out``/``--plot`` files land there; the ``nevsim`` lines of each page run in a folder of
their own, set up the same way (README and docs/regions.md both write ``--out out/all``, which
is refused the second time without ``--force``, as it should be); the results store (``nevsim.store.default_path``,
platformdirs' user data folder, ``$XDG_DATA_HOME/nevsim`` on Linux) is moved into another
temporary folder both by ``XDG_DATA_HOME`` and by patching ``default_path``. No user file is
touched.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
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
SKIP_BUDGET = 4

#: CLI lines never run (no marker needed): a server that does not return.
NEVER_RUN_CLI = ("nevsim serve",)

#: Fence languages whose ``nevsim`` lines are run ("" = a fence with no language).
SHELL_LANGS = ("bash", "sh", "shell", "console", "")

#: Ids the docs write as examples -> what the test puts in their place (first characters of the newest one).
EXAMPLE_IDS = {"3f2a9c": "run", "1a2b3c": "sweep"}

#: Files the docs name as the reader's own, written into the working folder first.
READER_FILES = {"my-sweep.toml": ROOT / "src" / "nevsim" / "sweeps" / "learning-vs-pass-through.toml"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*doctest:(.*)-->\s*$")
_SKIP = re.compile(r'^\s*skip(?:\s+"(?P<prefix>[^"]+)")?\s+\((?P<reason>[^)]+.*)\)\s*$')


@dataclass
class Block:
    page: str
    line: int  # line of the opening fence (1-based)
    lang: str
    code: str
    skip_reason: str | None = None  # the whole block
    skip_lines: dict[str, str] = field(default_factory=dict)  # shell: line prefix -> reason

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """The fenced python and shell blocks of one page (dedented), with their doctest markers."""
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
        code = textwrap.dedent("\n".join(lines[start + 1 : j]) + "\n")
        block = Block(path.name, start + 1, m.group("lang"), code)
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
        if block.lang == "python" or block.lang in SHELL_LANGS:
            blocks.append(block)
        i = j + 1
    return blocks


ALL_BLOCKS = [b for page in PAGES for b in parse_blocks(page)]
PYTHON_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "python"]


@dataclass
class Command:
    block: Block
    text: str  # the nevsim command, normalised by shlex (what skip prefixes match)
    pipe: list[str]  # the words after `|` (jq and its filter), or []

    @property
    def id(self) -> str:
        return f"{self.block.where} {self.text}" + (f" | {shlex.join(self.pipe)}" if self.pipe else "")


def shell_lines(block: Block) -> list[str]:
    """The commands of a shell block: continued lines joined; in a console block the ``$`` lines."""
    out: list[str] = []
    pending = ""
    for raw in block.code.splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        stripped = line.strip()
        if stripped.startswith("$ "):
            out.append(stripped[2:])
        elif block.lang != "console":
            out.append(stripped)
    return out


def cli_commands() -> list[Command]:
    """Every ``nevsim ...`` command of the shell blocks of README.md and docs/*.md (comments stripped)."""
    out = []
    for block in ALL_BLOCKS:
        if block.lang not in SHELL_LANGS:
            continue
        for line in shell_lines(block):
            if line.split()[:1] != ["nevsim"]:  # other commands, output, or no shell at all (formulas)
                continue
            words = shlex.split(line, comments=True)
            pipe: list[str] = []
            if "|" in words:
                at = words.index("|")
                words, pipe = words[:at], words[at + 1 :]
                if not pipe or pipe[0] != "jq" or "|" in pipe:
                    raise ValueError(f"{block.where}: {line!r}: only a pipe into jq is checked")
            out.append(Command(block, shlex.join(words), pipe))
    return out


CLI_COMMANDS = cli_commands()


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


# ---------------------------------------------------------------------------- nevsim lines


def _newest_id(kind: str) -> str:
    """The id of the newest stored run (not a sweep's) or sweep, made first if the store has none."""
    store = nevsim.store.Store()
    if kind == "run":
        runs = store.list_runs()
        ids = [r for r in runs["run_id"] if not str(r).startswith("sweep-")]
        if not ids:
            _invoke(["outlook"])
            return _newest_id(kind)
        return str(ids[0])
    from nevsim.sweep import list_sweeps

    sweeps = list_sweeps(store)
    if sweeps.empty:
        _invoke(["sweep", "learning-vs-pass-through", "--workers", "0"])
        return _newest_id(kind)
    return str(sweeps["sweep_id"].iloc[0])


def _invoke(argv: list[str], where: str = "") -> Any:
    result = CliRunner().invoke(nevsim.cli.app, argv)
    assert result.exit_code == 0, (f"{where}: nevsim {shlex.join(argv)!r} exited {result.exit_code}\n"
                                   f"{result.output[-2000:]}\n{result.exception!r}")
    return result


def _json_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _json_keys(v)}
    return set()


def _check_jq(pipe: list[str], stdout: str, where: str) -> None:
    """The command printed JSON holding every key the jq filter names; jq, when installed, runs the filter."""
    keys = _json_keys(json.loads(stdout))
    named = set(re.findall(r"[.{,]\s*([A-Za-z_]\w*)", " ".join(pipe[1:])))
    assert named <= keys, f"{where}: jq {shlex.join(pipe[1:])} names keys the output lacks: {sorted(named - keys)}"
    jq = shutil.which("jq")
    if jq is None:
        return
    done = subprocess.run([jq, *pipe[1:]], input=stdout, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stdout.strip(), f"{where}: jq {shlex.join(pipe[1:])} failed: {done.stderr}"


def _page_dir(root: Path, page: str) -> Path:
    """A working folder per page (a reader of one page has not run the others' ``--out`` lines)."""
    work = root / "pages" / page
    if not work.exists():
        shutil.copytree(ROOT / "docs" / "examples", work / "docs" / "examples")
        for name, source in READER_FILES.items():
            shutil.copy(source, work / name)
    return work


@pytest.mark.parametrize("cmd", CLI_COMMANDS, ids=[c.id for c in CLI_COMMANDS])
def test_cli_line_runs(cmd: Command, docs_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = cmd.block
    if block.skip_reason:
        pytest.skip(f"{block.where}: {cmd.text!r}: {block.skip_reason}")
    for prefix, reason in block.skip_lines.items():
        if cmd.text.startswith(prefix):
            pytest.skip(f"{block.where}: {cmd.text!r}: {reason}")
    if cmd.text.startswith(NEVER_RUN_CLI):
        pytest.skip(f"{cmd.text!r}: a server, not run here (tests/web covers it)")
    monkeypatch.chdir(_page_dir(docs_env, block.page))
    argv = shlex.split(cmd.text)[1:]
    argv = [_newest_id(EXAMPLE_IDS[w])[: len(w)] if w in EXAMPLE_IDS else w for w in argv]
    result = _invoke(argv, block.where)
    if cmd.pipe:
        _check_jq(cmd.pipe, result.stdout, block.where)


# ---------------------------------------------------------------------------- the harness itself


def test_every_page_has_blocks_and_every_marker_is_used() -> None:
    """The extraction finds the blocks (a changed fence style would silently run nothing)."""
    assert len([b for b in PYTHON_BLOCKS if b.page == "README.md"]) >= 4
    assert len([c for c in CLI_COMMANDS if c.block.page == "README.md"]) >= 20
    assert len([c for c in CLI_COMMANDS if c.block.page != "README.md"]) >= 40
    for block in ALL_BLOCKS:
        for prefix in block.skip_lines:
            assert block.lang in SHELL_LANGS, f"{block.where}: a line skip belongs on a shell block"
            assert any(c.text.startswith(prefix) for c in CLI_COMMANDS if c.block is block), \
                f"{block.where}: skip marker {prefix!r} matches no line of its block"


def test_skips_are_few_and_explained() -> None:
    skips = [(b.where, "block", b.skip_reason) for b in ALL_BLOCKS if b.skip_reason]
    skips += [(b.where, p, r) for b in ALL_BLOCKS for p, r in b.skip_lines.items()]
    report = "\n".join(f"  {where} {what}: {why}" for where, what, why in skips)
    print(f"doc examples: {len(PYTHON_BLOCKS)} python blocks, {len(CLI_COMMANDS)} nevsim lines; "
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


def test_shell_lines_of_every_fence_style(tmp_path: Path) -> None:
    """Console prompts, continued lines, bare and indented fences, pipes into jq; formulas are not commands."""
    page = tmp_path / "page.md"
    page.write_text("```console\n$ nevsim data list   # the catalog\nname  kind\n$ curl -s x | jq .\n```\n\n"
                    "```\nnevsim history --region CN \\\n        --until 2020\nV = ASC + β·x  (it's a formula)\n```\n\n"
                    "1. step:\n\n   <!-- doctest: skip (a cluster of your own) -->\n   ```bash\n"
                    "   nevsim sweep s.toml --scheduler tcp://h:1\n   ```\n\n"
                    "```sh\nnevsim outlook --json | jq '.targets[] | {name}'\n```\n", encoding="utf-8")
    blocks = parse_blocks(page)
    assert [b.lang for b in blocks] == ["console", "", "bash", "sh"]
    assert [shell_lines(b) for b in blocks[:3]] == [
        ["nevsim data list   # the catalog", "curl -s x | jq ."],
        ["nevsim history --region CN          --until 2020", "V = ASC + β·x  (it's a formula)"],
        ["nevsim sweep s.toml --scheduler tcp://h:1"]]
    assert blocks[2].skip_reason == "a cluster of your own" and blocks[2].line == 16
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys.modules[__name__], "ALL_BLOCKS", blocks)
        commands = cli_commands()
    assert [(c.text, c.pipe) for c in commands] == [
        ("nevsim data list", []), ("nevsim history --region CN --until 2020", []),
        ("nevsim sweep s.toml --scheduler tcp://h:1", []),
        ("nevsim outlook --json", ["jq", ".targets[] | {name}"])]


def test_jq_check_names_missing_keys() -> None:
    _check_jq(["jq", ".targets[] | {name, first_year_met}"], '{"targets": [{"name": "a", "first_year_met": null}]}', "x")
    with pytest.raises(AssertionError, match="projected_value"):
        _check_jq(["jq", ".targets[] | {name, projected_value}"], '{"targets": [{"name": "a"}]}', "x")
