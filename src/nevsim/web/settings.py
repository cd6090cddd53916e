"""Settings of the web app (``nevsim serve``): where runs are stored and the safety limits.

Every limit is a field here and a flag of ``nevsim serve``; nothing is read from globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nevsim.errors import InputError

#: Host the server binds by default: loopback only (the dashboard has no authentication).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _default_store() -> Path:
    from nevsim.store import default_path

    return default_path()


@dataclass(frozen=True)
class WebSettings:
    """Configuration of one web app.

    Parameters
    ----------
    store_path:
        DuckDB results store (default: the user data directory, as ``nevsim outlook``). User
        scenarios saved from the editor go to ``<store folder>/scenarios/<name>.toml``.
    max_body_bytes:
        Largest request body accepted (bytes); larger bodies get 413. Default 256 kB.
    max_draws:
        Largest number of Monte Carlo draws one run request may ask for; more gets 422.
    max_queued_runs:
        Runs waiting or running at once; a request beyond it gets 429.
    run_workers:
        Runs computed at the same time (threads; the machine's cores are shared with the server).
    wait_timeout_s:
        Longest a ``POST /api/runs?wait=true`` request waits for its run (seconds).
    """

    store_path: Path = field(default_factory=_default_store)
    max_body_bytes: int = 256 * 1024
    max_draws: int = 1
    max_queued_runs: int = 8
    run_workers: int = 1
    wait_timeout_s: float = 300.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "store_path", Path(self.store_path).expanduser())
        checks = {"max_body_bytes": (1024, 64 * 1024 * 1024), "max_draws": (1, 100_000),
                  "max_queued_runs": (1, 1000), "run_workers": (1, 64)}
        for name, (lo, hi) in checks.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InputError(name, f"must be a whole number from {lo} to {hi}, got {value!r}.")
        if not 0 < float(self.wait_timeout_s) <= 3600:
            raise InputError("wait_timeout_s", f"must be in (0, 3600] seconds, got {self.wait_timeout_s!r}.")

    @property
    def scenario_dir(self) -> Path:
        """Folder of the user scenarios saved from the editor (beside the store file)."""
        return self.store_path.parent / "scenarios"
