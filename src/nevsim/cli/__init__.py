"""The ``nevsim`` command line.

Each command group lives in its own module (``data``, ``policy``, ``outlook``) and is
registered here. Errors about user input (:class:`nevsim.errors.InputError`) are printed
as one clear message with exit code 2, never as a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """SIGINT while the CLI imports its modules: one line and exit 130, no traceback. Nothing has
    run yet, so nothing is lost; ``os._exit`` is safe inside a native import (numpy, pandas)."""
    os.write(2, b"Interrupted.\n")
    os._exit(130)


#: The start-up handler is installed only by a main thread that has Python's own Ctrl-C handler
#: (a caller that ignores SIGINT keeps ignoring it), and removed once the commands are registered.
_EARLY = threading.current_thread() is threading.main_thread() and \
    signal.getsignal(signal.SIGINT) is signal.default_int_handler
if _EARLY:
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import re  # noqa: E402  (after the start-up handler on purpose)
from typing import Any  # noqa: E402

import typer  # noqa: E402

from nevsim.errors import DataIntegrityError, InputError  # noqa: E402

app = typer.Typer(
    name="nevsim",
    help="nevsim: an open model of the electric-vehicle transition (China, US, EU).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _TidyHelp:
    """Mixed into every command and group class: ``--help`` shows no type after a flag (typer
    shows ``--json <bool>``) and a repeatable option's element type (``<str>``, not ``<list[str]>``)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "metavar", "") is not None:
                continue
            if getattr(param, "is_flag", False):
                param.metavar = ""
            elif getattr(param, "multiple", False) and hasattr(param, "display_type"):
                param.metavar = re.sub(r"list\[(.*)\]", r"\1", str(param.display_type(ctx)))
        return params


_TIDY: dict[type, type] = {}


def _tidy(cls: type) -> type:
    if issubclass(cls, _TidyHelp):
        return cls
    if cls not in _TIDY:
        _TIDY[cls] = type(cls.__name__, (_TidyHelp, cls), {"__doc__": cls.__doc__})
    return _TIDY[cls]


def _tidy_help(typer_app: typer.Typer, group_info: Any = None) -> None:
    """Give every command and group of ``typer_app`` (recursively) its class with :class:`_TidyHelp`."""
    from typer.core import TyperCommand, TyperGroup
    from typer.models import DefaultPlaceholder

    def given(value: Any) -> Any:
        return None if isinstance(value, DefaultPlaceholder) else value

    if group_info is not None and given(group_info.cls) is not None:
        group_info.cls = _tidy(group_info.cls)
    typer_app.info.cls = _tidy(given(typer_app.info.cls) or TyperGroup)
    for command in typer_app.registered_commands:
        command.cls = _tidy(given(command.cls) or TyperCommand)
    for group in typer_app.registered_groups:
        _tidy_help(group.typer_instance, group)


def _register() -> None:
    from nevsim.cli import data as data_cmds

    data_cmds.register(app)
    for name in ("policy", "outlook", "backtest", "sensitivity", "sweep", "serve"):
        try:
            module = __import__(f"nevsim.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name != f"nevsim.cli.{name}":
                raise
            continue
        module.register(app)
    _tidy_help(app)


_register()
if _EARLY and signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the commands handle Ctrl-C themselves

INTERRUPTED_LINE = "Interrupted."


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``nevsim`` script. Ctrl-C in any command: one line, exit 130 (a sweep
    prints its own line on how to resume)."""
    try:
        app(args=argv, standalone_mode=True)
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_LINE, err=True)
        sys.exit(130)
    except InputError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except DataIntegrityError as exc:
        typer.echo(f"Data error: {exc}", err=True)
        sys.exit(3)
