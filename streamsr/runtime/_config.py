"""Pipeline files: ready-made pipelines as TOML, validated on load.

A pipeline file (see ``pipelines/*.toml``) has top-level keys ``name``, ``description`` and
``mode`` (``"live"``: :class:`~streamsr.runtime.LivePipeline`; ``"offline"``: the offline
:class:`~streamsr.Pipeline`, every frame kept), and the tables ``[input]``, ``[enhance]``,
``[live]``, ``[metrics]`` and one ``[[output]]`` per output. The keys of each table are the
fields of :class:`InputConfig`, :class:`EnhanceConfig`, :class:`LiveConfig`,
:class:`MetricsConfig` and :class:`OutputConfig`; a missing key takes the default shown there.

Every key is checked on load: an unknown key, a value of the wrong type or out of range raises
:class:`~streamsr.ConfigError` naming the file, the table and the key. ``${NAME}`` in a
``location`` is replaced by the environment variable NAME, to keep passwords out of the file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from streamsr._errors import ConfigError
from streamsr.runtime._live import LiveOptions, OutputSpec, output_kind
from streamsr.sources._live import CameraOptions, is_live, parse_size
from streamsr.sources._url import redact_url

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, kw_only=True)
class InputConfig:
    """``[input]``: where frames come from (see :class:`~streamsr.sources.LiveSource`)."""

    location: str
    transport: Literal["tcp", "udp"] = "tcp"
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    reconnect_attempts: int = 5  # -1: for ever
    reconnect_delay_s: float = 1.0
    realtime: bool = False
    camera_size: str | None = None  # "1280x720"
    camera_fps: float | None = None
    camera_pixel_format: str | None = None


@dataclass(frozen=True, kw_only=True)
class EnhanceConfig:
    """``[enhance]``: the model and the face handling."""

    scale: int = 2
    arch: str | None = None  # None: srcnn-915s live, srcnn-955 offline (or the weights' own)
    variant: Literal["clean", "video"] = "video"
    weights: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    backend: str = "auto"
    detect_every: int = 3
    min_face: int = 0
    face_model: Literal["auto", "short", "full"] = "auto"
    temporal: bool = True
    mark: bool = False
    output_size: Literal["scaled", "input"] = "scaled"


@dataclass(frozen=True, kw_only=True)
class LiveConfig:
    """``[live]``: latency budget, queues, stale frames, status line (live mode only)."""

    max_latency_ms: float | None = None
    queue_frames: int = 1
    stale_after_s: float = 1.0
    status_every_s: float = 5.0


@dataclass(frozen=True, kw_only=True)
class MetricsConfig:
    """``[metrics]``: the Prometheus endpoint (live mode only)."""

    port: int | None = None
    host: str = "127.0.0.1"


@dataclass(frozen=True, kw_only=True)
class OutputConfig:
    """``[[output]]``: one output (see :class:`~streamsr.runtime.OutputSpec`)."""

    location: str
    segment_seconds: float | None = None
    codec: Literal["h264", "hevc", "av1"] = "h264"
    crf: int | None = None
    preset: str | None = None
    transport: Literal["tcp", "udp"] = "tcp"
    overwrite: bool = False


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """A whole pipeline file, validated. ``path`` is where it was read from."""

    path: Path
    name: str = ""
    description: str = ""
    mode: Literal["live", "offline"] = "live"
    input: InputConfig
    enhance: EnhanceConfig = field(default_factory=EnhanceConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    outputs: tuple[OutputConfig, ...] = ()

    # -- what the runtimes take -----------------------------------------------------------------

    def live_options(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~streamsr.runtime.LivePipeline`."""
        e, i, lv, m = self.enhance, self.input, self.live, self.metrics
        size = parse_size(i.camera_size) if i.camera_size is not None else None
        return dict(
            scale=e.scale,
            arch=e.arch,
            variant=e.variant,
            device=e.device,
            backend=e.backend,
            weights=e.weights,
            detect_every=e.detect_every,
            min_face=e.min_face,
            face_model=e.face_model,
            mark=e.mark,
            temporal=e.temporal,
            output_size=e.output_size,
            max_latency_ms=lv.max_latency_ms,
            queue_frames=lv.queue_frames,
            stale_after_s=lv.stale_after_s,
            status_every_s=lv.status_every_s,
            metrics_port=m.port,
            metrics_host=m.host,
            transport=i.transport,
            open_timeout_s=i.open_timeout_s,
            read_timeout_s=i.read_timeout_s,
            reconnect_attempts=i.reconnect_attempts,
            reconnect_delay_s=i.reconnect_delay_s,
            realtime=i.realtime,
            camera=CameraOptions(
                size_wh=size, fps=i.camera_fps, pixel_format=i.camera_pixel_format
            ),
        )

    def output_specs(self) -> list[OutputSpec]:
        return [
            OutputSpec(
                location=o.location,
                segment_seconds=o.segment_seconds,
                codec=o.codec,
                crf=o.crf,
                preset=o.preset,
                transport=o.transport,
                overwrite=o.overwrite,
            )
            for o in self.outputs
        ]

    def offline_options(self) -> dict[str, Any]:
        """Keyword arguments of the offline :class:`~streamsr.Pipeline` (mode = "offline")."""
        e, o = self.enhance, self.outputs[0]
        return dict(
            scale=e.scale,
            arch=e.arch,
            variant=e.variant,
            device=e.device,
            weights=e.weights,
            detect_every=e.detect_every,
            min_face=e.min_face,
            face_model=e.face_model,
            mark=e.mark,
            temporal=e.temporal,
            codec=o.codec,
            crf=o.crf,
            preset=o.preset,
            overwrite=o.overwrite,
        )

    def with_overrides(
        self, *, input: str | None = None, outputs: Sequence[str] = ()
    ) -> PipelineConfig:
        """A copy with the input location replaced and, for each of ``outputs``, the first
        output of the same kind (file, rtsp, virtualcam, preview) given that location, keeping
        its other settings; an output of a kind the file lacks is added. Validated again."""
        cfg = self
        if input is not None:
            cfg = dataclasses.replace(cfg, input=dataclasses.replace(cfg.input, location=input))
        outs = list(cfg.outputs)
        replaced: set[int] = set()
        for loc in outputs:
            kind = output_kind(loc)
            for i, o in enumerate(outs):
                if i not in replaced and output_kind(o.location) == kind:
                    outs[i] = dataclasses.replace(o, location=loc)
                    replaced.add(i)
                    break
            else:
                outs.append(OutputConfig(location=loc))
                replaced.add(len(outs) - 1)
        cfg = dataclasses.replace(cfg, outputs=tuple(outs))
        _check_semantics(cfg, str(cfg.path))
        return cfg


def load_pipeline(path: str | os.PathLike[str]) -> PipelineConfig:
    """Read and validate a pipeline file; ConfigError naming the file and key when it is wrong."""
    p = Path(path)
    where = str(p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"pipeline file not found: {where}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read pipeline file {where}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc

    top_allowed = {"name", "description", "mode", "input", "enhance", "live", "metrics", "output"}
    _unknown(data, top_allowed, where, "the top level")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{where}: {key} must be a string, got {_tname(data[key])}")
    mode = data.get("mode", "live")
    if mode not in ("live", "offline"):
        raise ConfigError(f"{where}: mode must be 'live' or 'offline', got {mode!r}")
    if "input" not in data:
        raise ConfigError(f"{where}: the [input] table is missing (it needs location = ...)")
    raw_outputs = data.get("output", [])
    if not isinstance(raw_outputs, list) or not all(isinstance(o, dict) for o in raw_outputs):
        raise ConfigError(f"{where}: outputs are [[output]] tables")
    if not raw_outputs:
        raise ConfigError(f"{where}: no [[output]] table; a pipeline needs at least one output")
    cfg = PipelineConfig(
        path=p,
        name=data.get("name", ""),
        description=data.get("description", ""),
        mode=mode,
        input=_table(InputConfig, data["input"], where, "[input]"),
        enhance=_table(EnhanceConfig, data.get("enhance", {}), where, "[enhance]"),
        live=_table(LiveConfig, data.get("live", {}), where, "[live]"),
        metrics=_table(MetricsConfig, data.get("metrics", {}), where, "[metrics]"),
        outputs=tuple(
            _table(OutputConfig, o, where, f"[[output]] #{i + 1}")
            for i, o in enumerate(raw_outputs)
        ),
    )
    if mode == "offline":
        for section in ("live", "metrics"):
            if section in data:
                raise ConfigError(f"{where}: [{section}] does not apply to mode = 'offline'")
    _check_semantics(cfg, where)
    return cfg


# -- validation ----------------------------------------------------------------------------------


def _check_semantics(cfg: PipelineConfig, where: str) -> None:
    """Build what the runtime would build, so that range and combination errors show now."""
    try:
        if cfg.mode == "offline":
            loc = cfg.input.location
            if is_live(loc):
                raise ConfigError(
                    f"[input] location {redact_url(loc)} is live; mode = 'offline' reads files"
                )
            if cfg.input.realtime:
                raise ConfigError("[input] realtime = true does not apply to mode = 'offline'")
            if len(cfg.outputs) != 1 or output_kind(cfg.outputs[0].location) != "file":
                raise ConfigError("mode = 'offline' writes exactly one file [[output]]")
            if cfg.outputs[0].segment_seconds is not None:
                raise ConfigError("segment_seconds needs mode = 'live'")
            if cfg.enhance.backend != "auto":
                raise ConfigError("[enhance] backend applies to mode = 'live' only")
            if cfg.enhance.output_size != "scaled":
                raise ConfigError("[enhance] output_size applies to mode = 'live' only")
            from streamsr.runtime._pipeline import PipelineOptions

            PipelineOptions(**cfg.offline_options())
        else:
            LiveOptions(**cfg.live_options())
            specs = cfg.output_specs()
            if sum(s.kind == "preview" for s in specs) > 1:
                raise ConfigError("one preview output at most")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str, section: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {key!r} in {section} (allowed: {', '.join(sorted(allowed))})"
            )


def _tname(v: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(v), type(v).__name__)


_T = typing.TypeVar("_T")


def _table(cls: type[_T], table: Any, where: str, section: str) -> _T:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {section} must be a table, got {_tname(table)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    _unknown(table, set(fields), where, section)
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: {section} needs {name} = ...")
            continue
        value = _check_value(table[name], hints[name], f"{where}: {section} {name}")
        if name == "location":
            value = _expand_env(value, f"{where}: {section} location")
        values[name] = value
    return cls(**values)


def _check_value(value: Any, hint: Any, what: str) -> Any:
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        # X | None: None is never written in TOML (it has no null); leave the key out instead.
        (inner,) = [a for a in args if a is not type(None)]
        return _check_value(value, inner, what)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{what} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{what} must be true or false, got {_tname(value)} {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{what} must be an integer, got {_tname(value)} {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{what} must be a number, got {_tname(value)} {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{what} must be a string, got {_tname(value)} {value!r}")
        return value
    raise TypeError(f"no TOML check for {hint!r}")  # pragma: no cover - a schema mistake


def _expand_env(text: str, what: str) -> str:
    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise ConfigError(f"{what} uses ${{{m.group(1)}}}, which is not set in the environment")
        return value

    return _ENV.sub(sub, text)
