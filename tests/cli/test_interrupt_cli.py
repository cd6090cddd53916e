"""Ctrl-C in any command: one line and exit 130, also while the CLI is still starting."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import nevsim.cli
import nevsim.simulate

runner = CliRunner()


def test_ctrl_c_during_a_command_prints_one_line_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(nevsim.simulate, "run", interrupted)
    result = runner.invoke(nevsim.cli.app, ["outlook", "--no-store"])
    assert result.exit_code == 130
    assert result.output.strip() == "Interrupted."


def test_main_turns_an_interrupt_into_exit_130(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def interrupted(**kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(nevsim.cli, "app", interrupted)
    with pytest.raises(SystemExit) as info:
        nevsim.cli.main(["outlook"])
    assert info.value.code == 130 and capsys.readouterr().err.strip() == "Interrupted."


def test_the_start_up_handler_is_gone_once_the_cli_is_loaded() -> None:
    """Importing the CLI (tests, notebooks) leaves Python's own Ctrl-C handler in place."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_start_up_handler_exits_130_with_one_line() -> None:
    code = "from nevsim.cli import _interrupted_while_starting as h; h(2, None); print('not reached')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and done.stderr.strip() == "Interrupted." and "not reached" not in done.stdout


def test_import_nevsim_is_light() -> None:
    """``import nevsim`` loads neither pandas nor numpy: the CLI's start-up handler is in place at once."""
    code = "import sys, nevsim; print('pandas' in sys.modules, 'numpy' in sys.modules); nevsim.data"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_the_start_up_handler_respects_a_caller_that_ignores_ctrl_c() -> None:
    code = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); import nevsim.cli; "
            "print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr
