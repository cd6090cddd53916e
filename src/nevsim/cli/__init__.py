"""The ``nevsim`` command line.

Each command group lives in its own module (``data``, ``policy``, ``outlook``) and is
registered here. Errors about user input (:class:`nevsim.errors.InputError`) are printed
as one clear message with exit code 2, never as a traceback.
"""

from __future__ import annotations

import sys

import typer

from nevsim.errors import DataIntegrityError, InputError

app = typer.Typer(
    name="nevsim",
    help="nevsim: an open model of the electric-vehicle transition (China, US, EU).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
