"""Pipeline files: ready-made pipelines as TOML, validated on load.

A pipeline file (see ``pipelines/*.toml``) has top-level keys ``name``, ``description`` and
``mode`` (``"live"`` or ``"offline"``: every frame kept), and one table per stage, whose keys are
the fields of that stage's options, one to one:

========== ======================================================================
table      keys
========== ======================================================================
[input]    ``location`` and :class:`~streamsr.sources.SourceOptions` (``camera`` as
           ``camera_size = "1280x720"``, ``camera_fps``, ``camera_pixel_format``)
[enhance]  :class:`~streamsr.enhance.EnhanceOptions`
[faces]    :class:`~streamsr.faces.FaceOptions`
[compose]  :class:`~streamsr.compose.ComposeOptions`
[live]     :class:`~streamsr.runtime.RuntimeOptions` (``max_latency_ms``, ``queue_frames``,
           ``stale_after_s``, ``status_every_s``)
[metrics]  ``port`` and ``host``: RuntimeOptions' ``metrics_port`` and ``metrics_host``
[[output]] :class:`~streamsr.sinks.OutputSpec`, one table per output
========== ======================================================================

A missing key takes the default shown there. Files written before the stages had their own
tables put ``detect_every``, ``min_face``, ``face_model``, ``mark``, ``temporal`` and
``output_size`` in ``[enhance]``: still read, with a warning naming the table they belong to.

Every key is checked on load: an unknown key, a value of the wrong type or out of range raises
:class:`~streamsr.ConfigError` naming the file, the table and the key. ``${NAME}`` in a
``location`` is replaced by the environment variable NAME, to keep passwords out of the file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from streamsr._errors import ConfigError
from streamsr._url import redact_url
from streamsr.compose._options import ComposeOptions
from streamsr.enhance._options import EnhanceOptions
from streamsr.faces._options import FaceOptions
from streamsr.runtime._options import PipelineOptions, RuntimeOptions, check_file_run
from streamsr.sinks import OutputSpec, output_kind
from streamsr.sources import CameraOptions, SourceOptions, is_live
from streamsr.sources._live import parse_size

log = logging.getLogger(__name__)

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

_LEGACY_ENHANCE = {
    "detect_every": "faces",
    "min_face": "faces",
    "face_model": "faces",
    "mark": "compose",
    "temporal": "compose",
    "output_size": "compose",
}
_LIVE_KEYS = ("max_latency_ms", "queue_frames", "stale_after_s", "status_every_s")
_CAMERA_KEYS = {"camera_size": str, "camera_fps": float, "camera_pixel_format": str}


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """A whole pipeline file, validated. ``path`` is where it was read from."""

    path: Path
    name: str = ""
    description: str = ""
    mode: Literal["live", "offline"] = "live"
    location: str
    options: PipelineOptions
    outputs: tuple[OutputSpec, ...] = ()

    def pipeline(self, **kw: Any) -> Any:
        """The :class:`~streamsr.Pipeline` this file describes (``kw``: ``enhancer=``)."""
        from streamsr.runtime._pipeline import Pipeline

        return Pipeline(self.location, list(self.outputs), options=self.options, **kw)

    def with_overrides(
        self, *, input: str | None = None, outputs: Sequence[str] = (), **runtime: Any
    ) -> PipelineConfig:
        """A copy with the input location replaced; for each of ``outputs``, the first output
        of the same kind (file, rtsp, virtualcam, preview) given that location, keeping its
        other settings (an output of a kind the file lacks is added); ``runtime``: fields of
        :class:`~streamsr.runtime.RuntimeOptions` (``metrics_port=9108``). Validated again."""
        cfg = self
        if input is not None:
            cfg = dataclasses.replace(cfg, location=input)
        outs = list(cfg.outputs)
        replaced: set[int] = set()
        for loc in outputs:
            kind = output_kind(loc)
            for i, o in enumerate(outs):
                if i not in replaced and o.kind == kind:
                    outs[i] = dataclasses.replace(o, location=loc)
                    replaced.add(i)
                    break
            else:
                outs.append(OutputSpec(location=loc))
                replaced.add(len(outs) - 1)
        opts = cfg.options
        if runtime:
            opts = dataclasses.replace(opts, runtime=dataclasses.replace(opts.runtime, **runtime))
        cfg = dataclasses.replace(cfg, outputs=tuple(outs), options=opts)
        _check_semantics(cfg, str(cfg.path))
        return cfg


def load_pipeline(path: str | os.PathLike[str]) -> PipelineConfig:
    """Read and validate a pipeline file; ConfigError naming the file and key when it is wrong."""
    p = Path(path)
    data = read_toml(p, "pipeline file")
    return pipeline_from_table(data, str(p), p)


def read_toml(p: Path, what: str) -> dict[str, Any]:
    """A TOML file's tables, or ConfigError naming the file (``what``: "pipeline file"...)."""
    where = str(p)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found: {where}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {where}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc


def pipeline_from_table(
    data: Mapping[str, Any], where: str, p: Path, *, section: str = "the top level"
) -> PipelineConfig:
    """A pipeline file's tables (or a site file's camera, ``section`` naming it), validated."""
    top = {"name", "description", "mode", "input", "enhance", "faces", "compose", "live"}
    _unknown(data, top | {"metrics", "output"}, where, section)
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
    if mode == "offline":
        for section in ("live", "metrics"):
            if section in data:
                raise ConfigError(f"{where}: [{section}] does not apply to mode = 'offline'")
    stage_tables = ("input", "enhance", "faces", "compose", "live")
    tables = {t: dict(_as_table(data.get(t, {}), where, f"[{t}]")) for t in stage_tables}
    enhance = dict(tables["enhance"])
    for key, stage in _LEGACY_ENHANCE.items():
        if key in enhance:
            log.warning("%s: %s belongs in [%s] (read from [enhance])", where, key, stage)
            cls = FaceOptions if stage == "faces" else ComposeOptions
            hint = typing.get_type_hints(cls)[key]
            value = _check_value(enhance.pop(key), hint, f"{where}: [enhance] {key}")
            tables[stage].setdefault(key, value)
    source_table = dict(tables["input"])
    location = source_table.pop("location", None)
    if location is None:
        raise ConfigError(f"{where}: [input] needs location = ...")
    location = _expand_env(_check_value(location, str, f"{where}: [input] location"), where)
    camera = {k: source_table.pop(k) for k in list(source_table) if k in _CAMERA_KEYS}
    metrics = _as_table(data.get("metrics", {}), where, "[metrics]")
    _unknown(metrics, {"port", "host"}, where, "[metrics]")
    runtime = {f"metrics_{k}": v for k, v in metrics.items()}
    source = _fields(SourceOptions, source_table, where, "[input]", exclude={"camera", "live"})
    try:
        cam = CameraOptions(
            size_wh=parse_size(_check_value(camera["camera_size"], str, "camera_size"))
            if "camera_size" in camera
            else None,
            fps=_check_value(camera["camera_fps"], float, "camera_fps")
            if "camera_fps" in camera
            else None,
            pixel_format=camera.get("camera_pixel_format"),
        )
        options = PipelineOptions(
            source=SourceOptions(**source, camera=cam, live=mode == "live"),
            enhance=EnhanceOptions(**_fields(EnhanceOptions, enhance, where, "[enhance]")),
            faces=FaceOptions(**_fields(FaceOptions, tables["faces"], where, "[faces]")),
            compose=ComposeOptions(
                **_fields(ComposeOptions, tables["compose"], where, "[compose]")
            ),
            runtime=RuntimeOptions(
                **_fields(RuntimeOptions, tables["live"], where, "[live]", only=_LIVE_KEYS),
                **_fields(RuntimeOptions, runtime, where, "[metrics]"),
            ),
        )
        outputs = tuple(
            OutputSpec(**_fields(OutputSpec, o, where, f"[[output]] #{i + 1}"))
            for i, o in enumerate(raw_outputs)
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    cfg = PipelineConfig(
        path=p,
        name=data.get("name", ""),
        description=data.get("description", ""),
        mode=mode,
        location=location,
        options=options,
        outputs=outputs,
    )
    _check_semantics(cfg, where)
    return cfg


# -- validation ----------------------------------------------------------------------------------


def _check_semantics(cfg: PipelineConfig, where: str) -> None:
    """The checks the pipeline makes at construction, so that they show on load."""
    try:
        if sum(o.kind == "preview" for o in cfg.outputs) > 1:
            raise ConfigError("one preview output at most")
        if cfg.mode == "offline":
            if is_live(cfg.location):
                raise ConfigError(
                    f"[input] location {redact_url(cfg.location)} is live; "
                    "mode = 'offline' reads files"
                )
            if cfg.options.source.realtime:
                raise ConfigError("[input] realtime = true does not apply to mode = 'offline'")
            check_file_run(cfg.options, cfg.outputs, redact_url(cfg.location))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _as_table(table: Any, where: str, section: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {section} must be a table, got {_tname(table)}")
    return table


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


def _fields(
    cls: type,
    table: Mapping[str, Any],
    where: str,
    section: str,
    *,
    exclude: set[str] = set(),  # noqa: B006 - read only
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The keywords of ``cls`` that ``table`` sets, each checked against its type hint."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name not in exclude]
    allowed = set(only) if only is not None else set(names)
    _unknown(table, allowed, where, section)
    return {k: _check_value(v, hints[k], f"{section} {k}") for k, v in table.items()}


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
    if hint is float or hint == (float | int):
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
