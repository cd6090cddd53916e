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
