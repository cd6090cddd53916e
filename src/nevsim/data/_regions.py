"""Region names: IEA names are canonical; common aliases are accepted, case-insensitively."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nevsim.errors import InputError

#: OWID entity → IEA region name, applied when the OWID files are loaded (same geography).
OWID_TO_IEA: Mapping[str, str] = {
    "United States": "USA",
    "European Union (27)": "EU27",
    "South Korea": "Korea",
    "Turkey": "Turkiye",
}

#: Listed first in error messages (the rest follow alphabetically).
MAJOR_REGIONS: tuple[str, ...] = ("China", "USA", "EU27", "Europe", "World")

#: Lower-case alias → canonical (IEA) region name.
ALIASES: Mapping[str, str] = {
    "cn": "China",
    "chn": "China",
    "prc": "China",
    "us": "USA",
    "u.s.": "USA",
    "united states": "USA",
    "united states of america": "USA",
    "eu": "EU27",
    "eu-27": "EU27",
    "eu 27": "EU27",
    "european union": "EU27",
    "european union (27)": "EU27",
    "uk": "United Kingdom",
    "gb": "United Kingdom",
    "south korea": "Korea",
    "turkey": "Turkiye",
    "türkiye": "Turkiye",
    "global": "World",
}


def resolve_region(value: object, allowed: Iterable[str], *, field: str = "region", dataset: str = "") -> str:
    """Return the canonical name of ``value`` among ``allowed`` (case-insensitive, aliases accepted).

    Raises :class:`InputError` listing the allowed names when ``value`` is unknown.
    """
    present = set(allowed)
    names = [n for n in MAJOR_REGIONS if n in present] + sorted(present - set(MAJOR_REGIONS))
    where = f" in dataset '{dataset}'" if dataset else ""
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"a region name is required{where}, got {value!r}.", allowed=names)
    key = value.strip().casefold()
    by_lower = {n.casefold(): n for n in names}
    if key in by_lower:
        return by_lower[key]
    alias = ALIASES.get(key)
    if alias is not None and alias in names:
        return alias
    raise InputError(field, f"unknown region {value!r}{where} (aliases: CN, US, EU).", allowed=names)
