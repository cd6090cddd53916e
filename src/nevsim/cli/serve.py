"""CLI: ``nevsim serve`` — the web dashboard and JSON API (see ``docs/web.md``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from nevsim.cli._common import STORE_HELP, check_store_file, cli_errors
from nevsim.errors import InputError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli_errors
def serve(
    host: Annotated[str, typer.Option(
        "--host", help="Address to bind. The default serves this machine only; another address needs "
                       "--allow-remote.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port, 1 to 65535.")] = 8000,
    store: Annotated[Path | None, typer.Option("--store", help=STORE_HELP)] = None,
    max_draws: Annotated[int, typer.Option(
        "--max-draws", help="Most Monte Carlo draws one run request may ask for.")] = 1,
    max_body_kb: Annotated[int, typer.Option(
        "--max-body-kb", help="Largest request body accepted (kB); a larger one gets HTTP 413.")] = 256,
    max_queued_runs: Annotated[int, typer.Option(
        "--max-queued-runs", help="Runs waiting or running at once; one more gets HTTP 429.")] = 8,
    allow_remote: Annotated[bool, typer.Option(  # a plain flag: "--no-allow-remote" made the column too wide
        "--allow-remote", help="Allow binding a non-loopback address (the dashboard has no authentication).")
    ] = False,
) -> None:
    """Serve the dashboard (outlook, scenario editor, compare, makers, history, back-test) and the JSON API.

    Opens http://HOST:PORT/ (API docs at /docs). Runs started from the browser are stored in the results store;
    user scenarios are saved next to it, in `scenarios/`.
    """
    if not 1 <= port <= 65535:  # (here, not typer's min/max: its range made the help's middle column wide)
        raise InputError("--port", f"{port} is not a TCP port.", allowed=["1 to 65535"])
    if not _is_loopback(host) and not allow_remote:
        raise InputError("--host", f"{host} is not a loopback address; the dashboard has no authentication. "
                                   "Pass --allow-remote to bind it anyway.", allowed=["127.0.0.1", "::1", "localhost"])
    from nevsim.web import WebSettings, create_app

    check_store_file(store)  # (say so now, not in every request's answer)
    settings = WebSettings(**({"store_path": store} if store is not None else {}), max_draws=max_draws,
                           max_body_bytes=max_body_kb * 1024, max_queued_runs=max_queued_runs)
    app = create_app(settings)
    import uvicorn

    typer.echo(f"nevsim dashboard on http://{host}:{port}/ (store: {settings.store_path}); Ctrl-C stops it.",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


#: The command's --help (rich keeps a docstring's line breaks, so each paragraph is one line here).
SERVE_HELP = ("Serve the dashboard (outlook, scenario editor, compare, makers, history, back-test) and the JSON API."
              "\n\nOpens http://HOST:PORT/ (API docs at /docs). Runs started from the browser are stored in the "
              "results store; user scenarios are saved next to it, in `scenarios/`.")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``nevsim`` command line."""
    app.command("serve", help=SERVE_HELP)(serve)
