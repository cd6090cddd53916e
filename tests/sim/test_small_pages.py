"""simulate._small_pages: huge pages off while many-draw arrays are built, then restored."""

from __future__ import annotations

import numpy as np
import pytest

from nevsim import simulate

switch = getattr(np._core.multiarray, "_set_madvise_hugepage", None)
pytestmark = pytest.mark.skipif(switch is None, reason="this numpy has no huge-page switch")


def _state() -> bool:
    previous = switch(True)  # read by setting, then put it back
    switch(previous)
    return bool(previous)


@pytest.mark.parametrize("before", [True, False])
def test_off_inside_and_restored_after(monkeypatch: pytest.MonkeyPatch, before: bool) -> None:
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    original = switch(before)
    try:
        with simulate._small_pages():
            assert _state() is False
        assert _state() is before
        with pytest.raises(RuntimeError), simulate._small_pages():
            raise RuntimeError("boom")
        assert _state() is before  # restored on errors too
    finally:
        switch(original)


def test_user_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    original = switch(True)
    try:
        with simulate._small_pages():
            assert _state() is True
    finally:
        switch(original)
