"""Memory allocation policy for building large tables (used by the simulation and the store)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import numpy as np


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Allocate without transparent huge pages while many-draw tables are built.

    numpy asks the kernel for huge pages on large arrays (``madvise``); on the 2-core benchmark
    machine first-touching such memory cost 2–5 × more (10,000 draws with the makers table:
    collect 5.0–5.5 s with huge pages, 1.6–1.8 s without, benchmarks/bench_draws.py, docs/model.md;
    loading that run from a store: the label and value repeats 2.5 s with, 1.2 s without).
    The simulation's own arrays keep them (its run stage measured slower without: 10,000 draws,
    series only, 3.9–4.2 s against 3.3–3.5 s). Only the allocation policy changes, never a
    value. A user who sets ``NUMPY_MADVISE_HUGEPAGE`` keeps their choice. numpy's switch is
    private (``numpy._core.multiarray._set_madvise_hugepage``); without it nothing is changed.
    """
    switch = getattr(getattr(np, "_core", None) and np._core.multiarray, "_set_madvise_hugepage", None)
    if switch is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield
        return
    with _LOCK:  # numpy's switch is process-wide: the first user turns it off, the last restores it
        if _STATE["users"] == 0:
            _STATE["previous"] = switch(False)
        _STATE["users"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["users"] -= 1
            if _STATE["users"] == 0:
                switch(_STATE["previous"])


_LOCK = threading.Lock()
_STATE: dict[str, int] = {"users": 0, "previous": True}  # (web requests and runs overlap in threads)


def repeat_each(x: np.ndarray, each: int) -> np.ndarray:
    """``np.repeat(x, each)`` written as one assignment into a new array.

    numpy copies by assignment without holding the GIL (``np.repeat`` holds it), so the columns of
    a many-draw table (80 M rows) can be filled on two threads at once (``nevsim.simulate._columns``,
    ``nevsim.store._read_run``).
    """
    out = np.empty(x.size * each, dtype=x.dtype)
    out.reshape(x.size, each)[...] = x.reshape(-1, 1)
    return out


def tile(x: np.ndarray, reps: int) -> np.ndarray:
    """``np.tile(x, reps)`` of a 1-d array written as one assignment (see :func:`repeat_each`)."""
    out = np.empty(x.size * reps, dtype=x.dtype)
    out.reshape(reps, x.size)[...] = x
    return out
