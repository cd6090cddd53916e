"""CLI: ``nevsim data list|show`` and ``nevsim history`` (built in issue 2)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Bundled datasets: list them, show one.", no_args_is_help=True)
    app.add_typer(data_app, name="data")
