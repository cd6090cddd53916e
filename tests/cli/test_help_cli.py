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
