"""``streamsr serve SITE.toml``: many cameras in one process, one network shared by all.

A site file lists cameras (``[[camera]]``: a ``name`` and the tables of a pipeline file nested
under it: ``[camera.input]``, ``[[camera.output]]``, and overrides ``[camera.faces]``,
``[camera.compose]``, ``[camera.live]``, ``[camera.enhance]``) and site-wide defaults
(``[enhance]``, ``[faces]``, ``[compose]``, ``[live]``) and ``[server]`` (host, port,
token_file). Every camera runs its own live :class:`~streamsr.runtime.Pipeline` on its own
threads (its own detector, reconnects, outputs); cameras with the same ``[enhance]`` share one
network through a :class:`~streamsr.runtime._shared.SharedEnhancer`. A camera that fails stops
on its own (its state says why) and the others go on. Each camera's compose stage feeds its
:class:`~streamsr.runtime._webview.CameraView` (live pictures and face gallery for the
browser), which outlives restarts. The web view and the HTTP API
(:mod:`streamsr.runtime._webapp`, 127.0.0.1 by default) show, add, remove and restart cameras.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamsr._check import check_int, check_str
from streamsr._errors import ConfigError, SourceError
from streamsr._url import redact_url
from streamsr.enhance._options import EnhanceOptions
from streamsr.runtime._config import (
    PipelineConfig,
    _as_table,
    _fields,
    _unknown,
    pipeline_from_table,
    read_toml,
)
from streamsr.runtime._shared import SharedEnhancer
from streamsr.runtime._threads import network_threads
from streamsr.runtime._webapp import WebServer, is_loopback
from streamsr.runtime._webview import CameraView

log = logging.getLogger(__name__)

_SHARED_TABLES = ("enhance", "faces", "compose", "live")
STATUS_FIELDS = (
    "frames_in",
    "frames_out",
    "frames_stale",
    "frames_dropped",
    "faces_enhanced",
    "enhance_skips",
    "reconnects",
    "audio_in",
    "audio_dropped",
    "variant",
)
"""The run's :class:`~streamsr.runtime.Stats` a camera's status shows as they are."""
_CAMERA_KEYS = {"name", "input", "output", *_SHARED_TABLES}


@dataclass(frozen=True, kw_only=True)
class ServerOptions:
    """Where the API listens; ``token_file``: a file holding the access token (else
    ``STREAMSR_TOKEN``; neither: no token is asked for)."""

    host: str = "127.0.0.1"
    port: int = 8090
    token_file: str | None = None

    def __post_init__(self) -> None:
        check_str("host", self.host)
        check_int("port", self.port, 0, 65535)
        check_str("token_file", self.token_file, none=True)

    def token(self) -> str | None:
        env = os.environ.get("STREAMSR_TOKEN")
        if env:
            return env
        if self.token_file is None:
            return None
        try:
            return Path(self.token_file).read_text().strip() or None
        except OSError as exc:
            raise ConfigError(
                f"[server] token_file {self.token_file}: {exc.strerror or exc}"
            ) from None


@dataclass(frozen=True, kw_only=True)
class SiteConfig:
    path: Path
    server: ServerOptions
    defaults: dict[str, dict[str, Any]]
    cameras: tuple[tuple[str, PipelineConfig], ...]


def camera_config(
    table: dict[str, Any], defaults: dict[str, dict[str, Any]], where: str, index: int
) -> tuple[str, PipelineConfig]:
    """One ``[[camera]]`` table (as in the site file, or posted to the API), validated."""
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f'{where}: [[camera]] #{index + 1} needs name = "..."')
    section = f"[[camera]] {name!r}"
    _unknown(table, _CAMERA_KEYS, where, section)
    merged: dict[str, Any] = {"mode": "live", "name": name}
    merged["input"] = table.get("input", {})
    merged["output"] = table.get("output", [])
    for t in _SHARED_TABLES:
        own = _as_table(table.get(t, {}), where, f"{section} [camera.{t}]")
        inherited = dict(defaults.get(t, {}))
        if t == "enhance":
            # A camera that names its network (arch or weights) or its quality replaces the
            # site's choice of network, instead of contradicting it.
            if "arch" in own or "weights" in own:
                inherited.pop("quality", None)
            if "quality" in own:
                inherited.pop("arch", None)
                inherited.pop("weights", None)
        merged[t] = {**inherited, **own}
    try:
        cfg = pipeline_from_table(merged, where, Path(where), section=section)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(
            msg if section in msg else msg.replace(f"{where}: ", f"{where}: {section}: ", 1)
        ) from None
    return name, cfg


def load_site(path: str | os.PathLike[str]) -> SiteConfig:
    p = Path(path)
    where = str(p)
    data = read_toml(p, "site file")
    _unknown(data, {"server", "camera", *_SHARED_TABLES}, where, "the top level")
    server_table = _as_table(data.get("server", {}), where, "[server]")
    try:
        server = ServerOptions(**_fields(ServerOptions, server_table, where, "[server]"))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    defaults = {t: dict(_as_table(data.get(t, {}), where, f"[{t}]")) for t in _SHARED_TABLES}
    raw = data.get("camera", [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise ConfigError(f"{where}: cameras are [[camera]] tables")
    cameras = [camera_config(c, defaults, where, i) for i, c in enumerate(raw)]
    check_cameras(cameras, where)
    return SiteConfig(path=p, server=server, defaults=defaults, cameras=tuple(cameras))


def check_cameras(cameras: list[tuple[str, PipelineConfig]], where: str) -> None:
    """No two cameras with one name, and no two recording to one file."""
    names: set[str] = set()
    paths: dict[str, str] = {}
    for name, cfg in cameras:
        if name in names:
            raise ConfigError(f"{where}: two cameras are named {name!r}")
        names.add(name)
        for o in cfg.outputs:
            if o.kind != "file":
                continue
            key = os.path.abspath(o.location)
            if key in paths:
                raise ConfigError(
                    f"{where}: cameras {paths[key]!r} and {name!r} both record to {o.location}"
                )
            paths[key] = name


class CameraRunner:
    """One camera's pipeline on its own thread; ``state``: starting, live, reconnecting,
    stale, stopped, failed (``error`` says why)."""

    def __init__(
        self, name: str, cfg: PipelineConfig, enhancer: Any, view: CameraView | None = None
    ) -> None:
        self.name, self.cfg, self.enhancer = name, cfg, enhancer
        self.view = view or CameraView(name, enhancer)
        self.state = "starting"
        self.error = ""
        self.pipeline: Any = None
        self.started_at = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{name}", daemon=True)
        self._thread.start()

    def _open(self) -> Any:
        """The camera's pipeline; a camera that cannot be reached at start is retried as its
        ``reconnect_attempts`` and ``reconnect_delay_s`` say (state ``reconnecting``)."""
        src = self.cfg.options.source
        attempts, delay = 0, max(0.1, src.reconnect_delay_s)
        while True:
            try:
                return self.cfg.pipeline(enhancer=self.enhancer)
            except SourceError as exc:
                attempts += 1
                if src.reconnect_attempts >= 0 and attempts > src.reconnect_attempts:
                    raise
                self.state = "reconnecting"
                self.error = redact_url(str(exc).splitlines()[0])
                log.warning("camera %s: %s; retrying in %.1f s", self.name, self.error, delay)
                if self._stop.wait(delay):
                    return None
                delay = min(30.0, 2 * delay)

    def _run(self) -> None:
        try:
            p = self._open()
            if p is None:
                return
            p.composer.tap = self.view
            self.pipeline = p
            if self._stop.is_set():
                p.close()
                return
            self.state, self.error = "live", ""
            with p:
                p.run()
            self.state = "stopped"
        except Exception as exc:  # the camera stops; the site goes on
            self.state, self.error = (
                "failed",
                redact_url(str(exc).splitlines()[0] if str(exc) else type(exc).__name__),
            )
            log.error("camera %s: %s", self.name, self.error)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self.pipeline is not None:
            self.pipeline.stop()
        self._thread.join(timeout=timeout)
        if self.state in ("starting", "live"):
            self.state = "stopped"

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "state": self.state, "error": self.error}
        p = self.pipeline
        if p is not None:
            st = p.stats
            if self.state == "live" and not st.connected:
                out["state"] = "reconnecting"
            elif self.state == "live" and st.frames_stale and st.fps_in == 0:
                out["state"] = "stale"
            out.update({k: getattr(st, k) for k in STATUS_FIELDS})
            out.update(
                fps_in=round(st.fps_in, 2),
                fps_out=round(st.fps_out, 2),
                size_wh=list(p.output_size_wh),
                input_size_wh=list(p.input_size_wh),
                faces=self.view.faces_now,
                viewers=sum(s.viewers for s in self.view.streams.values()),
            )
            qp = st.degradation.get("qp")
            if qp is not None:  # how coarsely the camera's encoder codes the faces
                out["face_qp"] = qp
            e2e = st.latency_ms.get("end_to_end")
            if e2e is not None:
                out["latency_p50_ms"], out["latency_p95_ms"] = round(e2e[0], 1), round(e2e[1], 1)
        return out


class Site:
    """The running site: cameras, shared enhancers, the HTTP API."""

    def __init__(
        self, config: SiteConfig, *, host: str | None = None, port: int | None = None
    ) -> None:
        self.config = config
        self.defaults = config.defaults
        self.where = str(config.path)
        self._shared: dict[EnhanceOptions, SharedEnhancer] = {}
        self.cameras: dict[str, CameraRunner] = {}
        self._lock = threading.Lock()
        self.token = config.server.token()
        bind = host or config.server.host
        if self.token is None and not is_loopback(bind):
            raise ConfigError(
                f"{self.where}: listening on {bind} (not loopback) needs an access token: set "
                "STREAMSR_TOKEN or [server] token_file"
            )
        self.web = WebServer(self, bind, config.server.port if port is None else port)
        self.port = self.web.port
        try:
            for name, cfg in config.cameras:
                self._start(name, cfg)
        except BaseException:
            self.close()
            raise
        log.info(
            "serving %d camera(s); web view and API on http://%s:%d/%s",
            len(self.cameras),
            bind if ":" not in bind else f"[{bind}]",
            self.port,
            " (token required)" if self.token else "",
        )

    def _enhancer_for(self, cfg: PipelineConfig) -> SharedEnhancer:
        opts = cfg.options.enhance  # cameras with equal [enhance] share one network
        shared = self._shared.get(opts)
        if shared is None:
            # one network, batched across cameras
            e = opts.load(live=True, tiers=False, threads=network_threads())
            enhancers = getattr(e, "enhancers", None)  # variant auto: both weight sets
            shared = SharedEnhancer(enhancers or {opts.variant: e}, auto=enhancers is not None)
            self._shared[opts] = shared
        return shared

    def _start(self, name: str, cfg: PipelineConfig) -> None:
        handle = self._enhancer_for(cfg).camera(name)
        self.cameras[name] = CameraRunner(name, cfg, handle)

    def add(self, table: dict[str, Any]) -> str:
        with self._lock:
            name, cfg = camera_config(table, self.defaults, "API", len(self.cameras))
            check_cameras([*((n, c.cfg) for n, c in self.cameras.items()), (name, cfg)], "API")
            self._start(name, cfg)
            return name

    def remove(self, name: str) -> None:
        with self._lock:
            runner = self.cameras.pop(name, None)
        if runner is None:
            raise KeyError(name)
        runner.stop()
        runner.view.close()

    def restart(self, name: str) -> None:
        with self._lock:
            runner = self.cameras.get(name)
            if runner is None:
                raise KeyError(name)
            runner.stop()
            self.cameras[name] = CameraRunner(name, runner.cfg, runner.enhancer, runner.view)

    def status(self) -> list[dict[str, Any]]:
        return [c.status() for c in list(self.cameras.values())]

    def enhancer_stats(self) -> list[dict[str, Any]]:
        return [{"arch": s.arch, "scale": s.scale, **s.stats()} for s in self._shared.values()]

    def close(self) -> None:
        for runner in list(self.cameras.values()):
            runner.view.close()  # ends every viewer's stream, so the web server stops at once
        self.web.close()
        for runner in list(self.cameras.values()):
            runner.stop()
        for shared in self._shared.values():
            shared.close()

    def metrics_text(self) -> str:
        lines = []

        def metric(name: str, kind: str, help_: str, rows: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP {name} {help_}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{{camera={json.dumps(c)}}} {v}" for c, v in rows)

        st = self.status()
        for key, kind, help_ in (
            ("frames_in", "counter", "frames read from the camera"),
            ("frames_out", "counter", "frames written to the outputs"),
            ("frames_dropped", "counter", "frames dropped to stay live"),
            ("faces_enhanced", "counter", "faces enhanced"),
            ("enhance_skips", "counter", "faces left bicubic to keep the latency budget"),
            ("reconnects", "counter", "reconnects of the input"),
            ("audio_in", "counter", "audio packets read from the camera"),
            ("fps_out", "gauge", "output frame rate over the last seconds"),
            ("latency_p50_ms", "gauge", "end-to-end latency inside streamsr, median, ms"),
            ("latency_p95_ms", "gauge", "end-to-end latency inside streamsr, 95th percentile, ms"),
        ):
            metric(
                f"streamsr_{key}" + ("_total" if kind == "counter" else ""),
                kind,
                help_,
                [(s["name"], s.get(key, 0)) for s in st],
            )
        name = "streamsr_latency_seconds"
        lines.append(f"# HELP {name} end-to-end latency inside streamsr, decode to output write")
        lines.append(f"# TYPE {name} histogram")
        for runner in list(self.cameras.values()):
            p = runner.pipeline
            if p is None:
                continue
            h = p.stats.latency_histogram
            cam = json.dumps(runner.name)
            for le, n in zip(h["le"], h["cumulative"], strict=True):
                lines.append(f'{name}_bucket{{camera={cam},le="{le}"}} {n}')
            lines.append(f"{name}_sum{{camera={cam}}} {h['sum_s']}")
            lines.append(f"{name}_count{{camera={cam}}} {h['count']}")
        metric(
            "streamsr_face_qp",
            "gauge",
            "H.264 quantiser over the faces as variant auto reads it (higher: coarser coding)",
            [(s["name"], s["face_qp"]) for s in st if "face_qp" in s],
        )
        metric(
            "streamsr_camera_up",
            "gauge",
            "1 when the camera is live",
            [(s["name"], float(s["state"] == "live")) for s in st],
        )
        for i, e in enumerate(self.enhancer_stats()):
            for k in ("crops_per_tick", "requests_per_tick", "utilisation"):
                lines.append(f'streamsr_enhancer_{k}{{enhancer="{i}",arch="{e["arch"]}"}} {e[k]}')
        return "\n".join(lines) + "\n"
