"""Readers: raw bundled files → tidy, validated DataFrames (parsed once per process).

Each reader is pure given its file; the parsed frame is cached on the file's
(path, size, mtime) so a changed file is never served from the cache, and callers always
get copies (see :func:`nevsim.data.load`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from nevsim.data._regions import OWID_TO_IEA
from nevsim.data._registry import FACTS_DIR, DatasetInfo, file_stamp, registry, schema, verify
from nevsim.errors import DataIntegrityError

#: Unit spellings normalised by the IEA reader (documented in provenance.toml caveats).
IEA_UNIT_FIXES = {
    "Milion barrels per day": "Million barrels per day",
    "Oil displacement, million lge": "million lge",
}

_TRUE_FALSE = {"true": True, "false": False}


def round_significant(values: np.ndarray, digits: int = 2) -> np.ndarray:
    """Round each value to ``digits`` significant figures (0, NaN and inf pass through).

    ``x → round(x · 10^k) / 10^k`` with ``k = digits − 1 − floor(log10|x|)``; the power of ten is
    applied as an exact integer (multiply or divide), so e.g. 0.000390000001062 → 0.00039 exactly
    as the nearest double to the decimal. Used to strip float32 artefacts from the IEA 2024 file,
    whose values the IEA publishes to two significant figures.
    """
    x = np.asarray(values, dtype=float)
    out = x.copy()
    ok = np.isfinite(x) & (x != 0)
    k = digits - 1 - np.floor(np.log10(np.abs(x[ok]))).astype(int)
    pos = k >= 0
    xs = x[ok]
    res = np.empty_like(xs)
    scale_up = 10.0 ** k[pos]
    res[pos] = np.round(xs[pos] * scale_up) / scale_up
    scale_down = 10.0 ** (-k[~pos])
    res[~pos] = np.round(xs[~pos] / scale_down) * scale_down
    out[ok] = res
    return out


def read_iea(path: Path, info: DatasetInfo) -> pd.DataFrame:
    """IEA Global EV Data Explorer (long form) → ``dataset, region, category, parameter, mode,
    powertrain, year, unit, value`` (+ ``aggregate_group`` for the 2025 edition).

    Treatment (documented in provenance.toml): exact duplicate rows are dropped (12 in the 2025
    file, nothing else); the 2024 edition's values are rounded to two significant figures
    (float32 artefacts); unit spellings in :data:`IEA_UNIT_FIXES` are normalised.
    """
    raw = pd.read_csv(path, dtype={"year": "int64", "value": "float64"})
    before = len(raw)
    raw = raw.drop_duplicates(ignore_index=True)
    dropped = before - len(raw)
    raw = raw.rename(columns={"region_country": "region", "Aggregate group": "aggregate_group"})
    if info.name == "iea_gevo_2024":
        raw["value"] = round_significant(raw["value"].to_numpy(), 2)
    raw["unit"] = raw["unit"].replace(IEA_UNIT_FIXES)
    raw.insert(0, "dataset", info.name)
    cols = [c for c in schema("iea")["column"] if c in raw.columns]
    frame = raw[cols]
    frame.attrs["duplicates_dropped"] = dropped
    return frame


def read_owid(path: Path, info: DatasetInfo) -> pd.DataFrame:
    """OWID grapher export (Entity, Code, Year, <value>) → ``dataset, region, code, year,
    variable, unit, value``; entity names mapped to IEA names (:data:`OWID_TO_IEA`)."""
    raw = pd.read_csv(path, dtype={"Entity": "str", "Code": "str", "Year": "int64", info.value_column: "float64"})
    missing = {"Entity", "Code", "Year", info.value_column} - set(raw.columns)
    if missing:
        raise DataIntegrityError(f"{path}: missing columns {sorted(missing)}.")
    return pd.DataFrame({
        "dataset": info.name,
        "region": raw["Entity"].replace(OWID_TO_IEA),
        "code": raw["Code"],
        "year": raw["Year"].astype("int64"),
        "variable": info.variable,
        "unit": info.unit,
        "value": raw[info.value_column].astype("float64"),
    })


def read_fact(path: Path, info: DatasetInfo) -> pd.DataFrame:
    """A fact table CSV → typed frame following its declared schema (validated)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    decl = schema(info.kind)
    expected = list(decl["column"])
    if list(raw.columns) != expected:
        raise DataIntegrityError(f"{path}: columns {list(raw.columns)} differ from the declared {expected}.")
    out = {}
    for row in decl.itertuples(index=False):
        col = raw[row.column].str.strip()
        empty = col == ""
        if not row.nullable and empty.any():
            bad = (np.flatnonzero(empty.to_numpy()) + 2).tolist()[:5]
            raise DataIntegrityError(f"{path}: column '{row.column}' is empty on line(s) {bad}.")
        try:
            if row.dtype == "int":
                num = pd.to_numeric(col.mask(empty), errors="raise")
                out[row.column] = num.astype("Int64") if row.nullable else num.astype("int64")
            elif row.dtype == "float":
                out[row.column] = pd.to_numeric(col.mask(empty), errors="raise").astype("float64")
            elif row.dtype == "bool":
                mapped = col.str.lower().map(_TRUE_FALSE)
                if mapped.isna().any():
                    raise ValueError("booleans must be true or false")
                out[row.column] = mapped.astype(bool)
            else:
                out[row.column] = col.mask(empty).astype("str")
        except (ValueError, TypeError) as exc:
            raise DataIntegrityError(f"{path}: column '{row.column}' is not {row.dtype}: {exc}") from None
    return pd.DataFrame(out)


def validate(frame: pd.DataFrame, table: str, where: str) -> None:
    """Check ``frame`` against the declared schema of ``table``: columns, dtypes, allowed values.

    Raises :class:`DataIntegrityError` (the data shipped with nevsim is wrong, not the user's input).
    """
    decl = schema(table)
    required = list(decl.loc[decl["required"], "column"])
    known = list(decl["column"])
    cols = list(frame.columns)
    if [c for c in cols if c in required] != required or any(c not in known for c in cols):
        raise DataIntegrityError(f"{where}: columns {cols} do not match the declared schema {known}.")
    for row in decl.itertuples(index=False):
        if row.column not in frame.columns:
            continue
        series = frame[row.column]
        kind = {"int": "i", "float": "f", "bool": "b"}.get(row.dtype)
        if kind is not None and series.dtype.kind != kind and not (row.dtype == "int" and row.nullable):
            raise DataIntegrityError(f"{where}: column '{row.column}' has dtype {series.dtype}, declared {row.dtype}.")
        if not row.nullable and series.isna().any():
            raise DataIntegrityError(f"{where}: column '{row.column}' has missing values (declared not nullable).")
        if row.allowed:
            allowed = set(row.allowed.split("|"))
            bad = sorted(set(series.dropna().astype(str)) - allowed)
            if bad:
                raise DataIntegrityError(
                    f"{where}: column '{row.column}' has values {bad[:5]} outside the allowed {sorted(allowed)}."
                )


@functools.lru_cache(maxsize=32)
def _parse(name: str, path: str, size: int, mtime_ns: int) -> pd.DataFrame:
    """Parse and validate one table (cached on the file's stamp; callers must copy)."""
    info = registry()[name]
    file = Path(path)
    if info.group == "dataset":
        frame = read_iea(file, info) if info.kind == "iea" else read_owid(file, info)
        validate(frame, info.kind, str(file))
    else:
        frame = read_fact(file, info)
        validate(frame, info.kind, str(file))
    return frame


def parsed(name: str, data_dir: Path) -> pd.DataFrame:
    """The cached, validated frame of ``name`` (a shared object: do not modify it)."""
    info = registry()[name]
    if info.group == "dataset":
        stamp = verify(info, data_dir / info.file)
    else:
        stamp = file_stamp(FACTS_DIR / info.file)
    frame = _parse(name, *stamp)
    if info.group == "facts" and name != "sources":
        _check_source_keys(frame, name)
    return frame


def _check_source_keys(frame: pd.DataFrame, name: str) -> None:
    """Every key in a fact table's ``source_key`` column must exist in the sources table."""
    sources = parsed("sources", Path())
    keys = set(sources["source_key"])
    used = {k.strip() for cell in frame["source_key"] for k in str(cell).split(";")}
    missing = sorted(used - keys)
    if missing:
        raise DataIntegrityError(f"facts/{registry()[name].file}: unknown source_key(s) {missing}.")
