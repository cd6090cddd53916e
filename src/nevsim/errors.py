"""Errors that nevsim raises for bad input.

Every error about user input names the field and, where the set is finite, the allowed
values, so that a CLI, an API or a notebook can show one clear message. The CLI turns an
:class:`InputError` into that message and exit code 2 (no traceback).
"""

from __future__ import annotations

from collections.abc import Iterable


class NevsimError(Exception):
    """Base class of nevsim's own errors."""


class InputError(NevsimError, ValueError):
    """A value given by the user (flag, file, scenario, request) is not acceptable.

    Parameters
    ----------
    field:
        Where the bad value sits, e.g. ``"--region"``, ``"policy.china.nev_ratio[2026]"``.
    message:
        What is wrong, in a sentence.
    allowed:
        The allowed values, when they form a finite list (shown sorted as given).
    """

    def __init__(self, field: str, message: str, allowed: Iterable[object] | None = None) -> None:
        self.field = field
        self.message = message
        self.allowed = None if allowed is None else [str(a) for a in allowed]
        super().__init__(str(self))

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, list[str] | None]]:
        """Pickled with its three fields, so an error raised in a sweep's worker process reaches the caller."""
        return (type(self), (self.field, self.message, self.allowed))

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}"
        if self.allowed is not None:
            if not text.rstrip().endswith((".", "!", "?", ":", ";")):
                text = text.rstrip() + "."
            shown = ", ".join(self.allowed[:60])
            more = "" if len(self.allowed) <= 60 else f", … ({len(self.allowed)} in all)"
            text += f" Allowed: {shown}{more}."
        return text


class DataIntegrityError(NevsimError):
    """A bundled data file does not match its provenance record (modified or corrupt)."""


#: The seeds numpy's SeedSequence takes here (0 to 2**63 − 1), as an error's ``allowed`` shows them:
#: a reader recognises ``2**63 − 1``, not 9223372036854775807.
SEED_ALLOWED = "0 to 2**63 − 1"


def year_span(years: Iterable[object]) -> str:
    """Whole years as short text for a message: runs of consecutive years as ``first–last``.

    ``year_span(range(2010, 2061))`` → ``"2010–2060"``; ``[2010, 2011, 2015]`` → ``"2010–2011, 2015"``;
    no years → ``"none"``.
    """
    ys = sorted({int(y) for y in years})  # type: ignore[call-overload]
    if not ys:
        return "none"
    parts: list[str] = []
    start = prev = ys[0]
    for y in [*ys[1:], None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(parts)
