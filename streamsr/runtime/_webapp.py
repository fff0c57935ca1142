"""The HTTP side of ``streamsr serve``: the operator's web view and the API, on Starlette.

Starlette (with uvicorn) because it is the small, well-kept ASGI toolkit that FastAPI is built
on: HTTP and WebSocket routes, streaming responses and static files, and nothing this server
does not use (no schema layer: the site file's own validation checks posted cameras).

Pages (plain HTML, CSS and one script shipped in ``runtime/web/``; no CDN, no build step):
``/`` the grid of cameras, ``/camera/NAME`` one camera (enhanced beside original, marks
toggle, recent tracks, recordings), ``/gallery`` the face gallery, ``/login``.

API: ``GET /healthz`` (no token), ``GET /metrics``; ``GET|POST /api/cameras``,
``GET|DELETE /api/cameras/NAME``, ``POST /api/cameras/NAME/restart``; ``GET
/api/cameras/NAME/tracks`` and ``.../tracks/ID/{enhanced,bicubic,pair}.png``
(``?download=1``: as an attachment); ``GET /api/cameras/NAME/recordings`` and
``.../recordings/FILE``; live pictures: WebSocket ``/api/cameras/NAME/live/{enhanced,original}``
(fragmented MP4 for MSE, :mod:`streamsr.sinks._webview`) and ``GET
/api/cameras/NAME/mjpeg/{enhanced,original}`` (the fallback).

**Security.** With a token (``STREAMSR_TOKEN`` or ``[server] token_file``; required to bind
anything but loopback) every request but ``/healthz``, ``/login`` and ``/static`` needs it,
as ``Authorization: Bearer TOKEN`` or the HttpOnly, SameSite=Strict cookie that ``POST
/login`` sets, compared in constant time; a WebSocket without it is refused before it is
accepted. GET never changes state. Downloads are only the files a listing names (a bare
name, a regular file, no symlink, inside the recording's folder). Every response carries a
Content-Security-Policy that allows scripts, styles and connections from this origin only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import stat
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamsr._errors import ConfigError
from streamsr.sinks._webview import unpack

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).with_name("web")
COOKIE = "streamsr_token"
PUBLIC = ("/healthz", "/login", "/static/")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
PICTURES = ("enhanced", "original")
MAX_BODY = 64 * 1024

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` resolves only to loopback addresses (``""`` and ``0.0.0.0`` are every
    interface)."""
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


class Guard:
    """ASGI middleware: the token on every HTTP and WebSocket request (but the public ones),
    and the security headers on every response."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app, self.token = app, token

    def allowed(self, scope: Scope) -> bool:
        if self.token is None:
            return True
        path = scope["path"]
        if path in PUBLIC[:2] or path.startswith(PUBLIC[2]):
            return True
        want = self.token.encode()
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        if auth.startswith(b"Bearer ") and hmac.compare_digest(auth[7:].strip(), want):
            return True
        cookie = headers.get(b"cookie", b"").decode("latin-1")
        if cookie:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(cookie)
            except Exception:  # a malformed cookie header is no token
                return False
            got = jar.get(COOKIE)
            if got is not None and hmac.compare_digest(got.value.encode(), want):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not self.allowed(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            wants_html = b"text/html" in dict(scope.get("headers") or []).get(b"accept", b"")
            body: Response
            if wants_html and scope.get("method") == "GET":
                nxt = quote(scope["path"])
                body = HTMLResponse(
                    f"<!doctype html><title>streamsr: sign in</title><p>This streamsr server "
                    f'needs its access token. <a href="/login?next={nxt}">Sign in</a>.</p>',
                    status_code=401,
                )
            else:
                body = JSONResponse(
                    {"error": "a valid access token is required (Authorization: Bearer TOKEN)"},
                    status_code=401,
                )
            await self._secured(body)(scope, receive, send)
            return

        async def send_secured(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_secured)

    @staticmethod
    def _secured(resp: Response) -> Response:
        for k, v in SECURITY_HEADERS:
            resp.headers[k.decode()] = v.decode()
        return resp


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=code)


def build_app(site: Any) -> Any:
    """The Starlette application of a running :class:`~streamsr.runtime._serve.Site` (typed
    loosely: the site module imports this one)."""

    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return FileResponse(WEB_DIR / name, media_type="text/html")

        return endpoint

    async def camera_page(request: Request) -> Response:
        if request.path_params["name"] not in site.cameras:
            return HTMLResponse("<!doctype html><p>No such camera.</p>", status_code=404)
        return FileResponse(WEB_DIR / "camera.html", media_type="text/html")

    async def login_form(request: Request) -> Response:
        return FileResponse(WEB_DIR / "login.html", media_type="text/html")

    async def login(request: Request) -> Response:
        body = (await request.body())[:MAX_BODY].decode("utf-8", "replace")
        form = parse_qs(body)
        token = (form.get("token") or [""])[0]
        nxt = (form.get("next") or ["/"])[0]
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        if site.token is None:
            return RedirectResponse(nxt, status_code=303)
        if not hmac.compare_digest(token.encode(), site.token.encode()):
            return HTMLResponse(
                '<!doctype html><p>Wrong token. <a href="/login">Try again</a>.</p>',
                status_code=401,
            )
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return resp

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "cameras": len(site.cameras)})

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(site.metrics_text(), media_type="text/plain; version=0.0.4")

    async def cameras(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(site.status())
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _error(413, f"the body is larger than {MAX_BODY} bytes")
        try:
            table = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(422, f"the body is not JSON: {exc}")
        if not isinstance(table, dict):
            return _error(422, "the body must be a JSON object: a [[camera]] table")
        try:
            name = await asyncio.to_thread(site.add, table)
        except (ConfigError, ValueError, TypeError) as exc:
            return _error(422, str(exc))
        return JSONResponse({"added": name}, status_code=201)

    def _camera(request: Request) -> Any:
        name = request.path_params["name"]
        runner = site.cameras.get(name)
        if runner is None:
            raise KeyError(name)
        return runner

    async def camera(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            try:
                await asyncio.to_thread(site.remove, name)
            except KeyError:
                return _error(404, f"no camera named {name!r}")
            return JSONResponse({"removed": name})
        try:
            return JSONResponse(_camera(request).status())
        except KeyError:
            return _error(404, f"no camera named {name!r}")

    async def restart(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            await asyncio.to_thread(site.restart, name)
        except KeyError:
            return _error(404, f"no camera named {name!r}")
        return JSONResponse({"restarted": name})

    async def enhancers(request: Request) -> Response:
        return JSONResponse(site.enhancer_stats())

    async def tracks(request: Request) -> Response:
        try:
            runner = _camera(request)
        except KeyError:
            return _error(404, f"no camera named {request.path_params['name']!r}")
        return JSONResponse(runner.view.gallery.tracks())

    async def all_tracks(request: Request) -> Response:
        out: list[dict[str, Any]] = []
        for runner in list(site.cameras.values()):
            out.extend(runner.view.gallery.tracks())
        out.sort(key=lambda t: -t["last_seen"])
        return JSONResponse(out)

    async def track_image(request: Request) -> Response:
        name, which = request.path_params["name"], request.path_params["which"]
        try:
            runner = _camera(request)
            track = int(request.path_params["track"])
            data = await asyncio.to_thread(runner.view.gallery.png, track, which)
        except (KeyError, ValueError):
            return _error(404, f"no gallery image {which!r} of that track on camera {name!r}")
        headers = {"Cache-Control": "no-store"}
        if request.query_params.get("download"):
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
            headers["Content-Disposition"] = (
                f'attachment; filename="streamsr-{safe}-track{track}-{which}.png"'
            )
        return Response(data, media_type="image/png", headers=headers)

    async def recordings(request: Request) -> Response:
        try:
            runner = _camera(request)
        except KeyError:
            return _error(404, f"no camera named {request.path_params['name']!r}")
        files = await asyncio.to_thread(recording_files, runner.cfg)
        stats = [(p.name, p.stat()) for p in files]
        return JSONResponse(
            [{"name": n, "bytes": st.st_size, "mtime": st.st_mtime} for n, st in stats]
        )

    async def recording(request: Request) -> Response:
        name, file = request.path_params["name"], request.path_params["file"]
        try:
            runner = _camera(request)
        except KeyError:
            return _error(404, f"no camera named {name!r}")
        files = {p.name: p for p in await asyncio.to_thread(recording_files, runner.cfg)}
        path = files.get(file)
        if path is None:
            return _error(404, f"no recording {file!r} of camera {name!r}")
        return FileResponse(path, filename=path.name)

    async def mjpeg(request: Request) -> Response:
        name, picture = request.path_params["name"], request.path_params["picture"]
        runner = site.cameras.get(name)
        if runner is None or picture not in PICTURES:
            return _error(404, f"no picture {picture!r} of a camera named {name!r}")
        stream = runner.view.streams[(picture, "jpeg")]

        async def parts() -> AsyncIterator[bytes]:
            viewer = stream.subscribe(asyncio.get_running_loop())
            try:
                while (message := await viewer.get()) is not None:
                    _, jpeg = unpack(message)
                    yield (
                        b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                        + str(len(jpeg)).encode()
                        + b"\r\n\r\n"
                        + jpeg
                        + b"\r\n"
                    )
            finally:
                stream.unsubscribe(viewer)

        return StreamingResponse(
            parts(),
            media_type="multipart/x-mixed-replace; boundary=frame",
            headers={"Cache-Control": "no-store"},
        )

    async def live(ws: WebSocket) -> None:
        name, picture = ws.path_params["name"], ws.path_params["picture"]
        runner = site.cameras.get(name)
        if runner is None or picture not in PICTURES:
            await ws.close(code=1008)
            return
        stream = runner.view.streams[(picture, "fmp4")]
        await ws.accept()
        viewer = stream.subscribe(asyncio.get_running_loop())

        async def watch_close() -> None:  # the viewer left: end the send loop
            try:
                while (await ws.receive())["type"] != "websocket.disconnect":
                    pass
            finally:
                viewer.queue.put_nowait(None)

        watcher = asyncio.create_task(watch_close())
        try:
            while (message := await viewer.get()) is not None:
                await ws.send_bytes(message)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the viewer went away mid-send
        finally:
            stream.unsubscribe(viewer)
            watcher.cancel()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.close()

    routes = [
        Route("/", page("grid.html")),
        Route("/gallery", page("gallery.html")),
        Route("/camera/{name}", camera_page),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/api/cameras", cameras, methods=["GET", "POST"]),
        Route("/api/enhancers", enhancers),
        Route("/api/tracks", all_tracks),
        Route("/api/cameras/{name}", camera, methods=["GET", "DELETE"]),
        Route("/api/cameras/{name}/restart", restart, methods=["POST"]),
        Route("/api/cameras/{name}/tracks", tracks),
        Route("/api/cameras/{name}/tracks/{track}/{which}.png", track_image),
        Route("/api/cameras/{name}/recordings", recordings),
        Route("/api/cameras/{name}/recordings/{file}", recording),
        Route("/api/cameras/{name}/mjpeg/{picture}", mjpeg),
        WebSocketRoute("/api/cameras/{name}/live/{picture}", live),
        Mount("/static", app=StaticFiles(directory=WEB_DIR), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"no such resource: {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} is not allowed on {request.url.path}")

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return Guard(app, site.token)


def recording_files(cfg: Any) -> list[Path]:
    """The files a camera's file outputs have written: regular files (no symlinks) in each
    output's folder whose names start as that output's (segments add a time or index)."""
    out: list[Path] = []
    for spec in cfg.outputs:
        if spec.kind != "file":
            continue
        loc = Path(spec.location)
        folder = loc.parent if str(loc.parent) else Path(".")
        stem = loc.stem.split("{", 1)[0].split("%", 1)[0]
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if not e.name.startswith(stem) or not e.name.endswith(loc.suffix):
                continue
            if e.name.startswith("."):  # a file being written
                continue
            try:
                st = os.lstat(e.path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                out.append(Path(e.path))
    return sorted(out)


class WebServer:
    """uvicorn serving :func:`build_app` on its own thread, from a socket bound at once (so a
    port in use is an error at start, and port 0 gives a free one)."""

    def __init__(self, site: Any, host: str, port: int) -> None:
        import uvicorn

        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            family = infos[0][0]
            self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.sock.listen(64)
        self.host, self.port = host, int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            build_app(site),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws_ping_interval=None,
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name="streamsr-web",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=5.0)
        self.sock.close()
