"""nevsim's web dashboard and JSON API (``nevsim serve``).

One FastAPI process serves server-rendered pages (Outlook, Scenario editor, Compare, Makers,
History, Back-test) and the JSON API under ``/api`` (OpenAPI docs at ``/docs``)::

    from nevsim.web import WebSettings, create_app
    app = create_app(WebSettings(store_path="runs.duckdb", max_draws=1))
    # uvicorn.run(app, host="127.0.0.1", port=8000)

Needs the ``web`` extra (fastapi, uvicorn, jinja2, python-multipart): ``pip install nevsim[web]``.
See ``docs/web.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nevsim.web.settings import DEFAULT_HOST, DEFAULT_PORT, WebSettings

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "WebSettings", "create_app"]


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The nevsim web app over one results store (see :mod:`nevsim.web.app`)."""
    try:
        from nevsim.web.app import create_app as _create
    except ModuleNotFoundError as exc:  # the web extra is not installed
        if exc.name in ("fastapi", "starlette", "jinja2", "uvicorn", "multipart"):
            from nevsim.errors import InputError

            raise InputError("serve", f"the web dashboard needs the 'web' extra ({exc.name} is missing): "
                                      "pip install 'nevsim[web]'") from None
        raise
    return _create(settings)
