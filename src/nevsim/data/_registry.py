"""Where the bundled data lives, what it should be, and the checksum check.

Provenance is declared once, in ``files/provenance.toml`` (one table per dataset: publisher,
edition, licence and attribution, original repository/path/commit, SHA-256, row count,
caveats). Column schemas are declared once, in ``schema.csv`` (table, column, dtype, unit,
required, allowed values, description), in the spirit of PyPSA's component attribute tables.

The expected checksums always come from the installed package, even when the data files are
read from another folder (``data_dir=`` or the ``NEVSIM_DATA_DIR`` environment variable), so a
modified copy is refused with :class:`nevsim.errors.DataIntegrityError`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nevsim.errors import DataIntegrityError

PACKAGE_DIR = Path(__file__).resolve().parent
FILES_DIR = PACKAGE_DIR / "files"
FACTS_DIR = PACKAGE_DIR / "facts"
PROVENANCE_FILE = FILES_DIR / "provenance.toml"
SCHEMA_FILE = PACKAGE_DIR / "schema.csv"
DATA_DIR_ENV = "NEVSIM_DATA_DIR"


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of ``provenance.toml``: a bundled dataset (``group="dataset"``) or a fact table."""

    name: str
    group: str  # "dataset" | "facts"
    kind: str  # "iea" | "owid" for datasets; the table name for fact tables
    file: str
    title: str
    publisher: str
    edition: str
    licence: str
    citation: str
    description: str
    short: str = ""
    version: str = ""
    published: int | None = None
    licence_url: str = ""
    attribution: str = ""
    origin_repository: str = ""
    origin_path: str = ""
    origin_commit: str = ""
    origin_note: str = ""
    sha256: str = ""
    rows: int | None = None
    raw_columns: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    variable: str = ""
    unit: str = ""
    value_column: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """``repo/path@commit`` for bundled datasets, the fact-sheet edition for fact tables."""
        if self.origin_repository:
            return f"{self.origin_repository}/{self.origin_path}@{self.origin_commit}"
        return self.edition


@functools.cache
def registry() -> dict[str, DatasetInfo]:
    """All datasets and fact tables declared in ``provenance.toml``, by name (parsed once)."""
    with PROVENANCE_FILE.open("rb") as fh:
        doc = tomllib.load(fh)
    out: dict[str, DatasetInfo] = {}
    known = set(DatasetInfo.__dataclass_fields__)
    for group in ("datasets", "facts"):
        for name, entry in doc.get(group, {}).items():
            kwargs = {k: v for k, v in entry.items() if k in known}
            kwargs["raw_columns"] = tuple(kwargs.get("raw_columns", ()))
            kwargs["caveats"] = tuple(kwargs.get("caveats", ()))
            kwargs.setdefault("kind", name)
            extra = {k: v for k, v in entry.items() if k not in known}
            out[name] = DatasetInfo(name=name, group="dataset" if group == "datasets" else "facts",
                                    extra=extra, **kwargs)
    return out


def dataset_names() -> list[str]:
    """Names accepted by :func:`nevsim.data.load`, bundled datasets first."""
    return list(registry())


@functools.cache
def _schema() -> pd.DataFrame:
    frame = pd.read_csv(SCHEMA_FILE, dtype=str, keep_default_na=False)
    for col in ("required", "nullable"):
        frame[col] = frame[col].map({"true": True, "false": False})
    return frame


def schema(table: str | None = None) -> pd.DataFrame:
    """The declared columns (table, column, dtype, unit, required, nullable,
    allowed, description).

    ``table`` is a schema name: ``iea``, ``owid``, ``targets``, ``china_market``,
    ``battery_prices``, ``china_ev_segments``, ``car_stock`` or ``sources``. Returns a copy.
    """
    frame = _schema()
    if table is not None:
        frame = frame[frame["table"] == table]
    return frame.reset_index(drop=True).copy()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """Folder the bundled dataset files are read from.

    Order: the explicit ``data_dir`` argument, then the ``NEVSIM_DATA_DIR`` environment
    variable, then the package's own ``files/`` folder. Checksums always come from the package.
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else FILES_DIR


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file; cached per process on (path, size, mtime) so a changed file is re-hashed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_stamp(path: Path) -> tuple[str, int, int]:
    """(resolved path, size, mtime_ns): the cache key of a file's contents."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataIntegrityError(f"{path}: bundled data file is missing.") from None
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def verify(info: DatasetInfo, path: Path) -> tuple[str, int, int]:
    """Check ``path`` against the SHA-256 of its provenance record; return its stamp.

    Raises :class:`DataIntegrityError` naming the file and both checksums when they differ.
    """
    stamp = file_stamp(path)
    actual = _sha256(*stamp)
    if actual != info.sha256:
        raise DataIntegrityError(
            f"{path}: checksum mismatch for dataset '{info.name}' — expected sha256 {info.sha256}, "
            f"found {actual}. The file was modified or is corrupt; reinstall nevsim or restore the file."
        )
    return stamp
