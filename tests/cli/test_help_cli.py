"""`--help` of every command: no Python types after flags or repeatable options, nothing cut off."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from nevsim.cli import app

runner = CliRunner()


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if isinstance(getattr(command, "commands", None), dict):  # a group (typer's own click classes)
        for name, sub in command.commands.items():
            out += _paths(sub, (*prefix, name))
    return out


PATHS = _paths(typer.main.get_command(app))


def test_every_command_is_checked() -> None:
    assert {("outlook",), ("sensitivity",), ("serve",), ("sweep", "run"), ("runs", "list"), ("policy", "show")} \
        <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "nevsim")
def test_help_shows_no_python_types_for_flags_and_lists(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output  # was "--json <bool>", "--help <bool>"
    assert "<list[" not in result.output  # was "-p <list[str]>"
    assert not re.search(r"-[\w-]*…", result.output)  # an option cut short ("--no-allow-remo…")


def test_serve_allow_remote_is_one_flag() -> None:
    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "80"})
    assert "--allow-remote" in result.output and "--no-allow-remote" not in result.output
    assert "stored in the results store; user scenarios" in " ".join(result.output.split())


def test_sensitivity_help_names_what_repeatable_options_take() -> None:
    text = runner.invoke(app, ["sensitivity", "--help"], env={"COLUMNS": "100"}).output
    assert "NAME" in text and "VARIABLE@YEAR" in text


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "nevsim")
def test_help_paragraphs_are_not_broken_mid_sentence(path: tuple[str, ...]) -> None:
    """Typer prints a docstring's line breaks as they are, so a paragraph wrapped in the source
    came out as "score against" / "history and …" on two short lines. One line per paragraph."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    for paragraph in (command.help or "").strip().split("\n\n"):
        assert "\n" not in paragraph.strip(), paragraph


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(getattr(command, "commands", None), dict):
        return [c for name, sub in command.commands.items() for c in _commands(sub, (*path, name))]
    return [(path, command)]


@pytest.mark.parametrize("path, command", _commands(typer.main.get_command(app)), ids=lambda p: " ".join(p)
                         if isinstance(p, tuple) else "")
def test_option_help_reads_like_a_sentence(path: tuple[str, ...], command: Any) -> None:
    """Every option's help starts with a capital letter and ends a sentence (serve's were lower case,
    without a full stop: "address to bind; the default serves this machine only")."""
    for param in command.params:
        text = (getattr(param, "help", None) or "").strip()
        if text:
            assert text[0].isupper() and text.endswith((".", ")")), (param.name, text)


def test_serve_help_has_no_wide_type_column() -> None:
    """The port's range type ("<int range> [1<=x<=65535]") made the middle column wide and the
    help text narrow; the range is in the words now and checked by the command."""
    text = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "80"}).output
    assert "1<=x<=65535" not in text and "TCP port, 1 to 65535." in " ".join(text.split())
    refused = runner.invoke(app, ["serve", "--port", "0"])
    assert refused.exit_code == 2 and "--port" in refused.output and "1 to 65535" in refused.output


@pytest.mark.parametrize("path", [("report",), ("runs", "list"), ("runs", "delete"), ("outlook",), ("serve",),
                                  ("sweep", "run"), ("sweep", "list"), ("sweep", "show")], ids=" ".join)
def test_store_help_says_where_the_default_store_is(path: tuple[str, ...]) -> None:
    boxed = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
    text = " ".join(re.sub("[│╭╮╰╯─]", " ", boxed).split())
    assert "Default: runs.duckdb in the user data folder: $XDG_DATA_HOME/nevsim, else ~/.local/share/nevsim" in text
    assert "~/Library/Application Support/nevsim (macOS)" in text
