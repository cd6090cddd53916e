"""The ``nevsim`` command line.

Each command group lives in its own module (``data``, ``policy``, ``outlook``) and is
registered here. Errors about user input (:class:`nevsim.errors.InputError`) are printed
as one clear message with exit code 2, never as a traceback.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer

from nevsim.errors import DataIntegrityError, InputError

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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``nevsim`` script."""
    try:
        app(args=argv, standalone_mode=True)
    except InputError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except DataIntegrityError as exc:
        typer.echo(f"Data error: {exc}", err=True)
        sys.exit(3)
