"""The FastAPI app: :func:`create_app` wires the API, the pages, static files and the safety limits."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from nevsim.errors import DataIntegrityError, InputError
from nevsim.web.settings import WebSettings
from nevsim.web.state import AppState, RunNotFoundError, ScenarioNotFoundError, TooBusyError

log = logging.getLogger("nevsim.web")
STATIC_DIR = Path(__file__).parent / "static"
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413.

    A declared ``Content-Length`` over the limit is refused before anything is read; a body
    without one (chunked) is read up to the limit, then replayed to the app in one piece.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Any, status: int, text: str) -> None:
        allowed = [f"at most {self.max_bytes} bytes"] if status == 413 else ["a whole number of bytes, ≥ 0"]
        body = JSONResponse(body_error(text, "body_too_large" if status == 413 else "bad_content_length", allowed,
                                       "body" if status == 413 else "content-length"), status_code=status).body
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                await self._refuse(send, 400, "bad Content-Length header (not a whole number of bytes)")
                return
            if size > limit:
                await self._refuse(send, 413, f"request body of {size} bytes is over the limit of {limit} bytes")
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                if message["type"] == "http.disconnect":
                    return
                continue
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                await self._refuse(send, 413, f"request body is over the limit of {limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def body_error(text: str, kind: str, allowed: list[str], field: str = "body") -> dict[str, Any]:
    """The API's error shape for a request body refused as a whole (unreadable, too large): ``field: "body"``
    (``"content-length"`` for that header)."""
    loc = ["body"] if field == "body" else ["header", field]
    return {"detail": [{"loc": loc, "field": field, "msg": text, "type": kind, "allowed": allowed}]}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path.startswith("/openapi")


def _input_error_detail(exc: InputError) -> dict[str, Any]:
    return {"loc": exc.field.split("."), "field": exc.field, "msg": exc.message, "type": "input_error",
            "allowed": exc.allowed}


_OTHER_TEXT = {"max_length": "at most {} characters", "min_length": "at least {} characters",
               "pattern": "matching {}", "expected": "{}"}


_BOUND_KEYS = ("ge", "gt", "le", "lt")


def _declared_bounds(request: Request | None, loc: tuple[Any, ...]) -> dict[str, Any]:
    """Both bounds the request schema declares for the field at ``loc`` (pydantic's error names only
    the one broken): a query or path parameter of the route, or a field of its body model; {} when
    not found."""
    route = request.scope.get("route") if request is not None else None
    dependant = getattr(route, "dependant", None)
    if dependant is None or not loc:
        return {}
    info = None
    if loc[0] in ("query", "path") and len(loc) > 1:
        params = dependant.query_params if loc[0] == "query" else dependant.path_params
        info = next((p.field_info for p in params if loc[1] in (p.name, p.alias)), None)
    elif loc[0] == "body" and dependant.body_params and len(loc) > 1:
        model = getattr(dependant.body_params[0], "type_", None)
        for part in loc[1:]:
            fields = getattr(model, "model_fields", None)
            if not isinstance(fields, dict) or part not in fields:
                return {}
            info = fields[part]
            model = info.annotation
    out: dict[str, Any] = {}
    for item in getattr(info, "metadata", None) or ():
        for key in _BOUND_KEYS:
            if getattr(item, key, None) is not None:
                out[key] = getattr(item, key)
    return out


def _allowed(err: dict[str, Any], request: Request | None = None) -> list[str] | None:
    """The bounds of a field a request-schema error names, worded as a scenario file's bounds are
    (:func:`nevsim.scenario.range_text`: ``["≥ 1"]``, ``["1900 to 2200"]``), or None. Pydantic's error
    carries only the bound that was broken; the other comes from the schema."""
    from nevsim.scenario import range_text

    ctx = dict(err.get("ctx") or {})
    if set(_BOUND_KEYS) & set(ctx):
        try:
            ctx = {**_declared_bounds(request, tuple(err.get("loc", ()))), **ctx}
        except Exception:  # (best effort: the broken bound alone still says what is wrong)
            pass
    found = [range_text(ctx)] if set(_BOUND_KEYS) & set(ctx) else []
    found += [text.format(ctx[key]) for key, text in _OTHER_TEXT.items() if key in ctx]
    return found or None


def _leaf_routes(routes: Any, prefix: str = "") -> Any:
    """``(prefix, route)`` of every route, routers included by ``include_router`` opened (FastAPI ≥ 0.13x
    keeps them as one nested entry holding ``original_router``; older versions copy their routes)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _leaf_routes(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
        else:
            yield prefix, route


def allowed_methods(app: Any, scope: Any) -> str:
    """The ``Allow`` header of a path: the methods of every route whose path matches it, not only of
    the first such route (Starlette names only that one's: ``OPTIONS /api/runs`` said ``GET`` though
    ``POST`` is served there too; ``/api/scenarios/validate`` also matches ``GET /api/scenarios/{name}``)."""
    methods: set[str] = set()
    path = str(scope.get("path", ""))
    for prefix, route in _leaf_routes(app.router.routes):
        if prefix and not path.startswith(prefix):
            continue
        probe = {**scope, "path": path[len(prefix):], "root_path": "", "method": "\x00"}  # no method: PARTIAL = path
        if route.matches(probe)[0] is not Match.NONE:
            served = getattr(route, "methods", None) or ({"GET", "HEAD"} if isinstance(getattr(route, "app", None),
                                                                                         StaticFiles) else ())
            methods |= set(served)
    return ", ".join(sorted(methods))


def store_status(exc: InputError) -> tuple[int, dict[str, str] | None]:
    """HTTP status (and headers) of an InputError: 422, but 503 for one about the server's own results store
    (``field == "store"``: another process holds it, or the file is not a store): nothing the request can
    change; ``Retry-After`` when it is held by another process (``nevsim outlook`` saving a run)."""
    if exc.field != "store":
        return 422, None
    return 503, ({"Retry-After": "2"} if "another process holds it" in exc.message else None)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The nevsim web app (dashboard pages and JSON API) over one results store."""
    settings = settings or WebSettings()
    state = AppState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.shutdown()

    from nevsim import __version__

    app = FastAPI(title="nevsim", version=__version__, lifespan=lifespan,
                  description="Dashboard and JSON API of nevsim, an open model of the electric-vehicle transition. "
                              "Errors about input are 422 with the dotted field path of the bad value.")
    app.state.nevsim = state

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> Response:
        status, headers = store_status(exc)
        if _wants_json(request):
            return JSONResponse({"detail": [_input_error_detail(exc)]}, status_code=status, headers=headers)
        from nevsim.web.pages import error_page

        return error_page(request, status, "Bad input" if status == 422 else "Results store unavailable", str(exc),
                          headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        from fastapi.encoders import jsonable_encoder

        errors = list(exc.errors())
        if any(err.get("type") == "json_invalid" for err in errors):  # not JSON at all: 400 (docs/web.md)
            where = next(err.get("loc", ("body", 0)) for err in errors if err.get("type") == "json_invalid")
            text = f"the request body is not readable JSON (error at character {where[-1]})"
            return JSONResponse(body_error(text, "json_invalid", ["a JSON object"]), status_code=400)
        detail = []
        for err in errors:
            loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            if not loc and tuple(err.get("loc", ())) == ("body",):  # no body, or not an object: name the body
                detail.append({**{k: v for k, v in err.items() if k not in ("ctx", "url", "input")},
                               "field": "body", "allowed": ["a JSON object"]})
                continue
            field = ".".join(str(p) for p in loc)
            if not field.strip():  # a key that is empty or blank ({"": …}): name it, quoted
                field = f"body key {json.dumps(str(loc[-1]) if loc else '')}"
            detail.append({**{k: v for k, v in err.items() if k not in ("ctx", "url", "input")},
                           "field": field, "allowed": _allowed(err, request)})
        if _wants_json(request):
            return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)
        from nevsim.web.pages import error_page

        text = "; ".join(f"{d['field']}: {d.get('msg', '')}" for d in detail)
        return error_page(request, 422, "Bad input", text)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        from fastapi.exception_handlers import http_exception_handler

        if exc.status_code == 405:
            allow = allowed_methods(request.app, request.scope)
            if allow:
                exc = StarletteHTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allow})
        if exc.status_code == 400 and _wants_json(request):  # FastAPI could not parse the body (JSON nested too deeply)
            return JSONResponse(body_error("the request body could not be parsed: not JSON, or nested too deeply",
                                           "body_unreadable", ["a JSON object"]), status_code=400)
        if exc.status_code in (404, 405) and not _wants_json(request) and request.method in ("GET", "HEAD"):
            from nevsim.web.pages import error_page  # a page address that does not exist: the HTML error page

            if exc.status_code == 404:
                return error_page(request, 404, "Not found", f"There is no page at {request.url.path}.")
            return error_page(request, 405, "Method not allowed", f"{request.method} is not served at {request.url.path} "
                              f"(allowed: {(exc.headers or {}).get('Allow', 'none')}).", headers=exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(ScenarioNotFoundError)
    async def _no_scenario(request: Request, exc: ScenarioNotFoundError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": [_input_error_detail(exc)]}, status_code=404)
        from nevsim.web.pages import error_page

        return error_page(request, 404, "Scenario not found", str(exc))

    @app.exception_handler(RunNotFoundError)
    async def _not_found(request: Request, exc: RunNotFoundError) -> Response:
        if _wants_json(request):  # (the error shape of an unknown scenario: field and what is allowed)
            return JSONResponse({"detail": [{"loc": ["run_id"], "field": "run_id", "msg": str(exc), "type": "not_found",
                                             "allowed": ["a run id listed by GET /api/runs"]}]}, status_code=404)
        from nevsim.web.pages import error_page

        return error_page(request, 404, "Run not found", f"{exc}. See the list of runs on the Compare page.")

    @app.exception_handler(TooBusyError)
    async def _busy(request: Request, exc: TooBusyError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=429)

    @app.exception_handler(DataIntegrityError)
    async def _data_error(request: Request, exc: DataIntegrityError) -> Response:
        return JSONResponse({"detail": f"bundled data failed its integrity check: {exc}"}, status_code=500)

    from nevsim.web.api import router as api_router
    from nevsim.web.pages import router as pages_router

    app.include_router(api_router)
    app.include_router(pages_router)

    plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def _plotly() -> FileResponse:
        return FileResponse(str(plotly_js), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/favicon.ico", include_in_schema=False)
    def _favicon() -> FileResponse:  # browsers ask for it on every page
        return FileResponse(str(STATIC_DIR / "favicon.svg"), media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
