"""Command-line glue for live streams: ``streamsr enhance`` on live inputs and ``streamsr run``.

``streamsr._cli`` hooks these in:

* :func:`add_live_arguments` adds the live options to the ``enhance`` parser;
* :func:`wants_live` tells, from the parsed arguments, whether ``enhance`` should run live (a
  live input, ``--realtime``, a live-only option or output); then :func:`run_live` runs it;
* :func:`add_run_parser` adds the ``run`` sub-command (``streamsr run pipelines/NAME.toml``).

Errors are raised as :class:`~streamsr.StreamSRError` for the command line to print as one line.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from streamsr._errors import ConfigError

log = logging.getLogger("streamsr")

EXIT_INTERRUPTED = 130

# Live-only options: given (not None / True) means "run live".
_LIVE_ONLY = (
    "rtsp_transport",
    "timeout",
    "reconnect_attempts",
    "reconnect_delay",
    "max_latency_ms",
    "camera_size",
    "camera_fps",
    "camera_pixel_format",
    "tee",
    "segment_seconds",
    "output_size",
    "metrics_port",
    "metrics_host",
    "status_every",
    "duration",
)


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of live inputs and outputs to ``parser`` (the ``enhance`` parser)."""
    g = parser.add_argument_group(
        "live streams and cameras",
        "Used when the input is live (rtsp://, rtsps://, http(s):// streams and HLS, rtmp://, "
        "udp://, camera:N, v4l2:/dev/videoN, avfoundation:N, dshow:video=NAME), with --realtime, "
        "or with any option below. Outputs (-o, --tee): a file, rtsp://URL (published), "
        "virtualcam[:DEVICE], or preview (a window).",
    )
    g.add_argument(
        "--realtime",
        action="store_true",
        help="play a file input at its own frame rate, as a live source (stands in for a camera)",
    )
    g.add_argument(
        "--tee",
        action="append",
        metavar="OUTPUT",
        help="another output besides -o (repeatable): a file, rtsp://URL, virtualcam, preview",
    )
    g.add_argument("--preview", action="store_true", help="also show the output in a window")
    g.add_argument(
        "--rtsp-transport", choices=("tcp", "udp"), help="RTSP input transport (default tcp)"
    )
    g.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds allowed to connect and between two packets (default 5)",
    )
    g.add_argument(
        "--reconnect-attempts",
        type=int,
        metavar="N",
        help="reopen a lost input up to N times (default 5; 0: never; -1: for ever)",
    )
    g.add_argument(
        "--reconnect-delay",
        type=float,
        metavar="S",
        help="wait S seconds before the first reconnect, doubling up to 30 s (default 1)",
    )
    g.add_argument(
        "--max-latency-ms",
        type=float,
        metavar="MS",
        help="leave a face bicubic when enhancing it would push the frame past MS milliseconds",
    )
    g.add_argument(
        "--output-size",
        choices=("scaled", "input"),
        help="scaled: input x scale (default); input: enhance, then downscale to the input size",
    )
    g.add_argument(
        "--segment-seconds",
        type=float,
        metavar="S",
        help="cut file outputs into playable files of S seconds each",
    )
    g.add_argument("--camera-size", metavar="WxH", help="camera capture size, e.g. 1280x720")
    g.add_argument("--camera-fps", type=float, metavar="FPS", help="camera capture frame rate")
    g.add_argument(
        "--camera-pixel-format",
        metavar="FMT",
        help="camera pixel format (v4l2 input_format: mjpeg, yuyv422...; avfoundation/dshow "
        "pixel_format)",
    )
    g.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics (extra streamsr[metrics])",
    )
    g.add_argument(
        "--metrics-host",
        metavar="HOST",
        help="address of the metrics endpoint (default 127.0.0.1; 0.0.0.0 exposes it)",
    )
    g.add_argument(
        "--status-every",
        type=float,
        metavar="S",
        help="log a status line every S seconds (default 5; 0: never)",
    )
    g.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stop after S seconds (default: run until the input ends or Ctrl-C)",
    )


def _outputs_of(args: argparse.Namespace) -> list[str]:
    out = getattr(args, "output", None)
    outputs = [out] if isinstance(out, str) else list(out or [])
    outputs += list(getattr(args, "tee", None) or [])
    if getattr(args, "preview", False) and "preview" not in outputs:
        outputs.append("preview")
    return [str(o) for o in outputs]


def wants_live(args: argparse.Namespace) -> bool:
    """True when ``enhance`` should run live: a live input, ``--realtime``, an option that only
    live mode has, or an output only live mode writes (rtsp://, virtualcam, preview)."""
    from streamsr.runtime._live import output_kind
    from streamsr.sources._live import is_live

    src = getattr(args, "input", None)
    if src is not None and is_live(str(src)):
        return True
    if getattr(args, "realtime", False) or getattr(args, "preview", False):
        return True
    if any(getattr(args, name, None) is not None for name in _LIVE_ONLY):
        return True
    return any(output_kind(o) != "file" for o in _outputs_of(args))


def live_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """:class:`~streamsr.runtime.LiveOptions` keywords from parsed ``enhance`` arguments."""
    from streamsr.sources._live import CameraOptions, is_live, parse_size

    def opt(name: str, default: Any) -> Any:
        v = getattr(args, name, None)
        return default if v is None else v

    src = getattr(args, "input", None)
    # A file in live mode plays at its own frame rate: as fast as it decodes, most of its
    # frames would be dropped (newest frame wins).
    realtime = bool(getattr(args, "realtime", False)) or (src is not None and not is_live(str(src)))

    timeout = opt("timeout", 5.0)
    size = getattr(args, "camera_size", None)
    return dict(
        scale=opt("scale", 2),
        arch=getattr(args, "arch", None),
        variant=opt("variant", "video"),
        device=opt("device", "auto"),
        backend=opt("backend", "auto"),
        weights=getattr(args, "weights", None),
        detect_every=opt("detect_every", 3),
        min_face=opt("min_face", 0),
        face_model=opt("face_model", "auto"),
        mark=bool(getattr(args, "mark", False)),
        temporal=bool(opt("temporal", True)),
        output_size=opt("output_size", "scaled"),
        max_latency_ms=getattr(args, "max_latency_ms", None),
        status_every_s=opt("status_every", 5.0),
        metrics_port=getattr(args, "metrics_port", None),
        metrics_host=opt("metrics_host", "127.0.0.1"),
        transport=opt("rtsp_transport", "tcp"),
        open_timeout_s=timeout,
        read_timeout_s=timeout,
        reconnect_attempts=opt("reconnect_attempts", 5),
        reconnect_delay_s=opt("reconnect_delay", 1.0),
        realtime=realtime,
        camera=CameraOptions(
            size_wh=parse_size(size) if size is not None else None,
            fps=getattr(args, "camera_fps", None),
            pixel_format=getattr(args, "camera_pixel_format", None),
        ),
    )


def run_live(args: argparse.Namespace) -> int:
    """``streamsr enhance`` in live mode; returns the exit code (130 when interrupted)."""
    from streamsr.runtime._live import OutputSpec, output_kind

    if getattr(args, "demo", False):
        if getattr(args, "input", None) is not None:
            raise ConfigError("give an INPUT or --demo (not both)")
        from streamsr._demo import demo_input

        src: str = str(demo_input())
    elif getattr(args, "input", None) is None:
        raise ConfigError("give an INPUT: a stream URL, a camera (camera:0) or a file")
    else:
        src = str(args.input)
    outputs = _outputs_of(args)
    if not outputs:
        raise ConfigError("give at least one output (-o)")
    specs = []
    for loc in outputs:
        if output_kind(loc) == "file":
            specs.append(
                OutputSpec(
                    location=loc,
                    segment_seconds=getattr(args, "segment_seconds", None),
                    codec=getattr(args, "codec", None) or "h264",
                    crf=getattr(args, "crf", None),
                    preset=getattr(args, "preset", None),
                    overwrite=bool(getattr(args, "overwrite", False)),
                )
            )
        elif output_kind(loc) == "rtsp":
            specs.append(
                OutputSpec(
                    location=loc,
                    crf=getattr(args, "crf", None),
                    preset=getattr(args, "preset", None),
                )
            )
        else:
            specs.append(OutputSpec(location=loc))
    options = live_options_from_args(args)
    return _run_live(src, specs, options, args, duration_s=getattr(args, "duration", None))


def _run_live(
    src: str,
    specs: list[Any],
    options: dict[str, Any],
    args: argparse.Namespace,
    *,
    duration_s: float | None,
) -> int:
    from streamsr.runtime._live import LivePipeline

    pipeline = LivePipeline(src, specs, **options)
    interrupted = False
    try:
        pipeline.run(duration_s=duration_s)
    except KeyboardInterrupt:
        interrupted = True
    st = pipeline.stats
    _write_stats(args, st.to_dict())
    if interrupted:
        log.info("interrupted after %.1f s; outputs closed", st.seconds)
        return EXIT_INTERRUPTED
    return 0


def _write_stats(args: argparse.Namespace, stats: dict[str, Any]) -> None:
    path = getattr(args, "stats_json", None)
    if path:
        Path(path).write_text(json.dumps(stats, indent=2, default=str) + "\n")


# -- streamsr run ---------------------------------------------------------------------------------


def add_run_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``streamsr run PIPELINE.toml [--input ...] [--output ...]``."""
    p = subparsers.add_parser(
        "run",
        help="run a ready-made pipeline file (pipelines/*.toml)",
        description="Run a pipeline file: surveillance (RTSP in, enhanced RTSP out and a "
        "segmented recording), videoconf (camera in, virtual camera out), transcode (file in, "
        "file out, nothing dropped). --input and --output override the file's.",
    )
    p.add_argument(
        "pipeline",
        help="pipeline file (.toml), or the name of one in ./pipelines (surveillance, ...)",
    )
    p.add_argument("-i", "--input", help="input instead of the file's [input] location")
    p.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="OUTPUT",
        help="replaces the file's first output of the same kind (file, rtsp://, virtualcam, "
        "preview) or adds one; repeatable",
    )
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (live)")
    p.add_argument("--metrics-port", type=int, metavar="PORT", help="override [metrics] port")
    p.add_argument("--stats-json", metavar="PATH", help="write the run's statistics as JSON")
    p.add_argument("--check", action="store_true", help="validate the pipeline file and exit")
    p.set_defaults(func=cmd_run)
    return p


def resolve_pipeline_path(name: str) -> Path:
    """``name`` as given when it exists, else with ``.toml`` added, else ``pipelines/NAME.toml``."""
    p = Path(name)
    if p.exists() or p.suffix == ".toml":
        return p
    if p.with_suffix(".toml").exists():
        return p.with_suffix(".toml")
    return Path("pipelines") / f"{name}.toml"


def cmd_run(args: argparse.Namespace) -> int:
    """``streamsr run``: load, validate, override, run."""
    import dataclasses

    from streamsr.runtime._config import load_pipeline

    cfg = load_pipeline(resolve_pipeline_path(args.pipeline))
    cfg = cfg.with_overrides(input=args.input, outputs=args.output)
    if args.metrics_port is not None:
        if cfg.mode == "offline":
            raise ConfigError("--metrics-port applies to live pipelines only")
        cfg = dataclasses.replace(
            cfg, metrics=dataclasses.replace(cfg.metrics, port=args.metrics_port)
        )
        cfg = cfg.with_overrides()
    if args.check:
        print(f"{cfg.path}: ok ({cfg.mode}, {len(cfg.outputs)} output(s))")
        return 0
    log.info("pipeline %s (%s): %s", cfg.name or cfg.path.stem, cfg.mode, cfg.description)
    if cfg.mode == "offline":
        return _run_offline(cfg, args)
    return _run_live(
        cfg.input.location,
        cfg.output_specs(),
        cfg.live_options(),
        args,
        duration_s=args.duration,
    )


def _run_offline(cfg: Any, args: argparse.Namespace) -> int:
    from streamsr.runtime._pipeline import Pipeline

    interrupted = False
    with Pipeline(cfg.input.location, cfg.outputs[0].location, **cfg.offline_options()) as p:
        try:
            p.run(progress=False)
        except KeyboardInterrupt:
            interrupted = True
            p.stats.interrupted = True
    st = p.stats
    log.info(
        "%s %d frames in %.1f s (%.1f fps), %d faces enhanced",
        "interrupted after" if interrupted else "done:",
        st.frames_out,
        st.seconds,
        st.fps,
        st.faces_enhanced,
    )
    _write_stats(args, st.to_dict())
    return EXIT_INTERRUPTED if interrupted else 0
