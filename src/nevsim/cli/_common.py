"""Shared pieces of the CLI: error handling, JSON output, output-path checks."""

from __future__ import annotations

import functools
import json
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import typer

from nevsim.errors import DataIntegrityError, InputError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2
EXIT_DATA = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def cli_errors(func: F) -> F:
    """Turn nevsim's input and data errors into one message on stderr and an exit code.

    Bad input exits with 2 (the usage-error code click uses too); a bundled data file that
    fails its provenance check exits with 3; Ctrl-C exits with 130 after one line. No traceback
    is shown for any of them.
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
        except KeyboardInterrupt:  # Ctrl-C: one line and 130 (a sweep catches its own first, to say how to resume)
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

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


#: What ``--plot`` writes: the file's suffix is its format. Every chart can be written as
#: self-contained HTML; a command that can also write a static image lists its suffix too.
#: Any other suffix is refused before the work starts (the same rule for every command).
HTML_SUFFIXES = (".html", ".htm")


def _cannot_create_in(folder: Path) -> str | None:
    """Why a file cannot be created in ``folder`` (None if it can): creates and removes a probe.

    A probe rather than :func:`os.access`, which says yes to root everywhere, including /proc.
    """
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def check_store_file(store: Path | None, *, field: str = "--store") -> None:
    """Refuse, before any work, an existing ``--store`` file that is not a store, is damaged or is
    held by another process (:meth:`nevsim.store.Store.check_writable`); a new path passes."""
    if store is None or not Path(store).expanduser().is_file():
        return
    from nevsim.store import Store

    try:
        Store(store).check_writable()
    except InputError as exc:
        raise InputError(field, exc.message, allowed=exc.allowed) from None


def check_folder(folder: Path, *, field: str, create: bool = True) -> None:
    """Refuse, before any work, a folder the output cannot be written to.

    ``folder`` must be a writable folder, or (``create=True``) one that can be made: its
    nearest existing parent is a writable folder. InputError naming ``field`` otherwise.
    """
    folder = Path(folder).expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        raise InputError(field, f"{folder} exists and is not a folder.")
    existing = folder
    while not existing.exists():
        if not create:
            raise InputError(field, f"folder {folder} does not exist; create it first.")
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(field, f"cannot create the folder {folder}: {existing} is a file.")
    reason = _cannot_create_in(existing)
    if reason is not None:
        raise InputError(field, f"cannot write in {existing} ({reason}).")


def check_writable(path: Path, *, force: bool, field: str, suffixes: Sequence[str] | None = None,
                   create_folder: bool = False) -> None:
    """Refuse, before any work, an output file that cannot or should not be written.

    The file must not exist unless the user said ``--force`` (and must not be a folder); its
    folder must exist (``create_folder=True``: or be creatable, as ``--out DIR`` is) and be
    writable; with ``suffixes`` (e.g. :data:`HTML_SUFFIXES`) its suffix must be one of them.
    """
    path = Path(path).expanduser()
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InputError(field, f"cannot write {path.name!r}: the suffix is the file's format, and this command "
                                f"writes {' or '.join(suffixes)} files.", allowed=list(suffixes))
    if path.is_dir():
        raise InputError(field, f"{path} is a folder; give a file name.")
    if path.exists() and not force:
        raise InputError(field, f"{path} already exists; pass --force to overwrite it.")
    check_folder(path.absolute().parent, field=field, create=create_folder)
