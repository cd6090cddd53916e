"""Shared pieces of the scenario schemas (:mod:`nevsim.scenario`, :mod:`nevsim.regionspec`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

MIN_YEAR, MAX_YEAR = 2000, 2100


class Strict(BaseModel):
    """Frozen, no unknown keys, defaults validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def year_path(value: dict[str, float]) -> dict[str, float]:
    """Year keys must be integers in [2000, 2100], written in strictly increasing order."""
    previous = None
    for key in value:
        try:
            year = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"year key {key!r} is not a year") from None
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year key {key} is outside {MIN_YEAR}–{MAX_YEAR}")
        if previous is not None and year <= previous:
            raise ValueError(f"years out of order: {year} comes after {previous}")
        previous = year
    return {str(int(k)): float(v) for k, v in value.items()}
