"""Shared pieces of the CLI: error handling, JSON output, overwrite protection."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from nevsim.errors import DataIntegrityError, InputError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2
EXIT_DATA = 3


def cli_errors(func: F) -> F:
    """Turn nevsim's input and data errors into one message on stderr and an exit code.

    Bad input exits with 2 (the usage-error code click uses too); a bundled data file that
    fails its provenance check exits with 3. No traceback is shown for either.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except DataIntegrityError as exc:
            typer.echo(f"Data error: {exc}", err=True)
            raise typer.Exit(EXIT_DATA) from None

    return wrapper  # type: ignore[return-value]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return _clean(value.item())
        except (AttributeError, ValueError):
            return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def echo_json(payload: Any) -> None:
    """Print ``payload`` as JSON (NaN → null, numpy scalars → Python numbers)."""
    typer.echo(json.dumps(_clean(payload), ensure_ascii=False, indent=1, default=str))


def check_writable(path: Path, *, force: bool, field: str) -> None:
    """Refuse to overwrite an existing file unless the user said ``--force``."""
    if path.exists() and not force:
        raise InputError(field, f"{path} already exists; pass --force to overwrite it.")
