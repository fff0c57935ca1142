"""``streamsr enhance`` and ``streamsr run``: one pipeline, for files and live streams.

The mode is chosen by the input (a stream URL or camera is live, a file is not) or by
``--live`` / ``--realtime``, never by another option: an option that only live runs have,
given for a file, is an error that says so. Every flag maps onto one field of the stage
options (:data:`FLAGS`; a test checks that each field has its flag).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from streamsr._errors import ConfigError
from streamsr.cli._common import BACKENDS, EXIT_INTERRUPTED

log = logging.getLogger("streamsr")

FLAGS: dict[str, str] = {
    # enhance
    "scale": "--scale",
    "arch": "--arch",
    "variant": "--variant",
    "weights": "--weights",
    "device": "--device",
    "backend": "--backend",
    "quality": "--quality",
    "reuse_every": "--reuse-every",
    # faces
    "detect_every": "--detect-every",
    "min_face": "--min-face",
    "face_model": "--face-model",
    "crop_enlarge": "--crop-enlarge",
    # compose
    "mark": "--mark",
    "temporal": "--no-temporal",
    "output_size": "--output-size",
    # outputs given as plain locations
    "codec": "--codec",
    "crf": "--crf",
    "preset": "--preset",
    "overwrite": "--overwrite",
    "segment_seconds": "--segment-seconds",
    # source
    "live": "--live",
    "max_input_pixels": "--max-input-pixels",
    "max_input_frames": "--max-input-frames",
    "realtime": "--realtime",
    "transport": "--rtsp-transport",
    "open_timeout_s": "--timeout",
    "read_timeout_s": "--timeout",
    "reconnect_attempts": "--reconnect-attempts",
    "reconnect_delay_s": "--reconnect-delay",
    "camera": "--camera-size",
    # runtime
    "max_latency_ms": "--max-latency-ms",
    "queue_frames": "--queue-frames",
    "stale_after_s": "--stale-after",
    "status_every_s": "--status-every",
    "metrics_port": "--metrics-port",
    "metrics_host": "--metrics-host",
}
"""The command-line flag of every pipeline option keyword."""

# Flags whose argparse dest differs from the option keyword they set.
_DEST = {
    "rtsp_transport": "transport",
    "reconnect_delay": "reconnect_delay_s",
    "stale_after": "stale_after_s",
    "status_every": "status_every_s",
}


def add_file_flags(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The flags of an offline run that ``enhance`` and ``batch`` share: the network, faces,
    compose and encoder options; returns the outputs group for more."""
    from streamsr.enhance._srcnn import ARCHS

    g = p.add_argument_group("enhancement")
    g.add_argument("--scale", type=int, choices=(2, 3, 4), help="2 (default), 3 or 4")
    g.add_argument(
        "--quality",
        choices=("fast", "balanced", "best"),
        help="which shipped network: fast (the cheapest), balanced (the live default) or best "
        "(the file default); the README's Speed section says which network each is and what "
        "it costs",
    )
    g.add_argument(
        "--reuse-every",
        type=int,
        metavar="N",
        help="a large face (output crop of 256 px or more) through the network every N frames, "
        "carrying its last enhancement over, moved with the picture, in between (default 1: "
        "every frame)",
    )
    g.add_argument(
        "--arch",
        choices=ARCHS,
        help="the network by name, instead of --quality (with --weights: the one the file names)",
    )
    g.add_argument(
        "--variant",
        choices=("auto", "clean", "video"),
        help="shipped weights: auto (default: chosen from how blocky, blurred and noisy the "
        "faces look; starts from video), video (trained with blur, noise, compression) or clean",
    )
    g.add_argument("--weights", metavar="PATH", help="weights file instead of the shipped ones")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"))
    g.add_argument(
        "--backend",
        choices=BACKENDS,
        help="inference backend (auto: the fastest available here, named at start-up)",
    )
    g.add_argument(
        "--detect-every",
        type=int,
        metavar="N",
        help="run the face detector every N frames, track in between (default 3)",
    )
    g.add_argument("--min-face", type=int, metavar="PX", help="ignore faces narrower than PX")
    g.add_argument(
        "--face-model",
        choices=("auto", "short", "full"),
        help="BlazeFace short range (close faces), full range (small faces), or auto",
    )
    g.add_argument(
        "--crop-enlarge",
        type=float,
        metavar="X",
        help="side of the enhanced square over the face box, 1 to 3 (default 1.6; 1.3 is "
        "faster on close faces and as sharp inside the box)",
    )
    g.add_argument(
        "--mark",
        action="store_true",
        default=None,
        help="outline enhanced regions and label them with the track id",
    )
    g.add_argument(
        "--no-temporal",
        dest="temporal",
        action="store_false",
        default=None,
        help="no temporal smoothing of the enhancement (on by default: less flicker on still faces)",
    )
    g.add_argument(
        "--output-size",
        choices=("scaled", "input"),
        help="scaled: input x scale (default); input: faces enhanced, frame kept at the input size",
    )
    o = p.add_argument_group("outputs")
    o.add_argument("--codec", choices=("h264", "hevc", "av1"))
    o.add_argument("--crf", type=int, help="encoder quality (default: 20 for h264)")
    o.add_argument("--preset", help="encoder preset (default: veryfast; ultrafast when live)")
    g.add_argument(
        "--max-input-pixels",
        type=int,
        metavar="N",
        help="refuse input frames of more pixels than N, from the header (default 8192x8192)",
    )
    g.add_argument(
        "--max-input-frames",
        type=int,
        metavar="N",
        help="refuse a file that says or turns out to hold more than N frames (default 10M)",
    )
    return o


def add_enhance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enhance", help="enhance the faces of a video file, stream or camera")
    p.add_argument(
        "input",
        nargs="?",
        help="a video file (any container and codec FFmpeg reads), a stream URL (rtsp://, "
        "http(s)://, rtmp://, udp://) or a camera (camera:N, v4l2:/dev/videoN, "
        "avfoundation:N, dshow:video=NAME)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="a file (.mp4, .mkv, .mov, .ts); live runs also: rtsp://URL, virtualcam, preview",
    )
    p.add_argument("--demo", action="store_true", help="use the bundled demo clip as input")
    o = add_file_flags(p)
    o.add_argument(
        "--overwrite", action="store_true", default=None, help="replace an existing output file"
    )
    o.add_argument(
        "--tee",
        action="append",
        metavar="OUTPUT",
        help="another output besides -o (repeatable)",
    )
    o.add_argument("--stats-json", metavar="PATH", help="write the run's statistics as JSON")
    o.add_argument("--no-progress", action="store_true", help="no progress bar (files)")
    lv = p.add_argument_group(
        "live streams and cameras",
        "A stream URL or camera input runs live: the newest frame wins, dropped frames are "
        "counted, no audio. A file runs offline (every frame and the audio kept) unless "
        "--live or --realtime; the options below are errors for an offline run.",
    )
    lv.add_argument(
        "--live", action="store_true", default=None, help="run a file input as a live stream"
    )
    lv.add_argument(
        "--realtime",
        action="store_true",
        default=None,
        help="play a file input at its own frame rate, as a live source (stands in for a camera)",
    )
    lv.add_argument("--preview", action="store_true", help="also show the output in a window")
    lv.add_argument("--rtsp-transport", choices=("tcp", "udp"), help="RTSP input transport")
    lv.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds allowed to connect and between two packets (default 5)",
    )
    lv.add_argument(
        "--reconnect-attempts",
        type=int,
        metavar="N",
        help="reopen a lost input up to N times (default 5; 0: never; -1: for ever)",
    )
    lv.add_argument(
        "--reconnect-delay",
        type=float,
        metavar="S",
        help="wait S seconds before the first reconnect, doubling up to 30 s (default 1)",
    )
    lv.add_argument(
        "--max-latency-ms",
        type=float,
        metavar="MS",
        help="leave a face bicubic when enhancing it would push the frame past MS milliseconds",
    )
    lv.add_argument(
        "--queue-frames", type=int, metavar="N", help="frames each stage queue holds (default 1)"
    )
    lv.add_argument(
        "--stale-after",
        type=float,
        metavar="S",
        help="repeat the last frame, labelled STALE, after S seconds without input (default 1)",
    )
    lv.add_argument(
        "--segment-seconds",
        type=float,
        metavar="S",
        help="cut file outputs into playable files of S seconds each",
    )
    lv.add_argument("--camera-size", metavar="WxH", help="camera capture size, e.g. 1280x720")
    lv.add_argument("--camera-fps", type=float, metavar="FPS", help="camera capture frame rate")
    lv.add_argument(
        "--camera-pixel-format",
        metavar="FMT",
        help="camera pixel format (v4l2 input_format: mjpeg, yuyv422...; avfoundation/dshow "
        "pixel_format)",
    )
    lv.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    m = p.add_argument_group("status and metrics")
    m.add_argument(
        "--status-every",
        type=float,
        metavar="S",
        help="log a status line every S seconds (default 5; 0: never)",
    )
    m.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics (extra streamsr[metrics])",
    )
    m.add_argument(
        "--metrics-host",
        metavar="HOST",
        help="address of the metrics endpoint (default 127.0.0.1; 0.0.0.0 exposes it)",
    )
    p.set_defaults(func=cmd_enhance)


def keywords_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline keywords the user gave (flags left out take the options' defaults)."""
    from streamsr.runtime._options import keyword_owner
    from streamsr.sources import CameraOptions
    from streamsr.sources._live import parse_size

    known = keyword_owner()
    kw: dict[str, Any] = {}
    for dest, value in vars(args).items():
        name = _DEST.get(dest, dest)
        if value is not None and name in known:
            kw[name] = value
    if getattr(args, "timeout", None) is not None:
        kw["open_timeout_s"] = kw["read_timeout_s"] = args.timeout
    camera = [getattr(args, k, None) for k in ("camera_size", "camera_fps", "camera_pixel_format")]
    if any(v is not None for v in camera):
        size = parse_size(args.camera_size) if args.camera_size is not None else None
        kw["camera"] = CameraOptions(
            size_wh=size, fps=args.camera_fps, pixel_format=args.camera_pixel_format
        )
    if getattr(args, "duration", None) is not None:
        kw["_duration"] = args.duration  # not an option: checked against the mode, then dropped
    return kw


def check_mode(src: str, outputs: list[str], kw: dict[str, Any]) -> None:
    """For a file that runs offline, live-only flags are errors naming the flags."""
    from streamsr.runtime._options import PipelineOptions, check_file_run
    from streamsr.sinks import OutputSpec

    duration = kw.pop("_duration", None)
    options, out_defaults = PipelineOptions.from_keywords(**kw)
    if options.source.is_live_for(src):
        return
    specs = [OutputSpec(location=o, **out_defaults) for o in outputs]
    flags = dict(FLAGS, camera="--camera-size/--camera-fps/--camera-pixel-format")
    check_file_run(options, specs, src, names=flags, live_hint="--live or --realtime")
    if duration is not None:
        raise ConfigError(
            f"--duration: for live runs only (a stream URL or camera input, or --live or "
            f"--realtime); {src} is a file, processed to its end"
        )


def cmd_enhance(args: argparse.Namespace) -> int:
    from streamsr._demo import demo_input, write_side_by_side
    from streamsr.runtime._pipeline import Pipeline

    if args.demo == (args.input is not None):
        raise ConfigError("give an INPUT (a file, stream URL or camera) or --demo (not both)")
    src = str(demo_input()) if args.demo else args.input
    outputs = [args.output, *(args.tee or [])]
    if args.preview and "preview" not in outputs:
        outputs.append("preview")
    kw = keywords_from_args(args)
    check_mode(src, outputs, kw)
    p = Pipeline(src, outputs, **kw)
    code = run_pipeline(p, args, duration_s=args.duration, progress=not args.no_progress)
    if code == 0 and args.demo:
        pic = Path(args.output).with_suffix(".png")
        if write_side_by_side(src, pic, p.enhancer):
            log.info("side-by-side picture (bicubic | enhanced): %s", pic)
    return code


def run_pipeline(
    p: Any, args: argparse.Namespace, *, duration_s: float | None, progress: bool
) -> int:
    """Run ``p`` to its end; log the summary, write ``--stats-json``; the exit code."""
    interrupted = False
    with p:
        try:
            p.run(duration_s=duration_s, progress=progress and not p.live)
        except KeyboardInterrupt:
            interrupted = True
    st = p.stats
    ms = ", ".join(f"{k} {v:.1f}" for k, v in st.stage_ms.items())
    log.info(
        "%s %d frames in %.1f s (%.1f fps); %d with faces, %d faces enhanced, %d tracks, "
        "%d dropped, %d decode errors; weights %s; ms per frame: %s",
        "interrupted after" if interrupted else "done:",
        st.frames_out,
        st.seconds,
        st.fps,
        st.frames_with_faces,
        st.faces_enhanced,
        st.tracks,
        st.frames_dropped,
        st.decode_errors,
        st.variant or "-",
        ms,
    )
    stats_json = getattr(args, "stats_json", None)
    if stats_json:
        Path(stats_json).write_text(json.dumps(st.to_dict(), indent=2, default=str) + "\n")
    if interrupted:
        names = ", ".join(s.name for s in p.specs)
        print(
            f"streamsr: interrupted; {names} hold the {st.frames_out} frames processed",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


# -- streamsr run ---------------------------------------------------------------------------------


def add_run(sub: argparse._SubParsersAction) -> None:
    """``streamsr run PIPELINE.toml [--input ...] [--output ...]``."""
    p = sub.add_parser(
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
    from streamsr.runtime._config import load_pipeline

    cfg = load_pipeline(resolve_pipeline_path(args.pipeline))
    runtime = {} if args.metrics_port is None else {"metrics_port": args.metrics_port}
    cfg = cfg.with_overrides(input=args.input, outputs=args.output, **runtime)
    if args.duration is not None and cfg.mode == "offline":
        raise ConfigError("--duration: for live pipelines only; a file is processed to its end")
    if args.check:
        print(f"{cfg.path}: ok ({cfg.mode}, {len(cfg.outputs)} output(s))")
        return 0
    log.info("pipeline %s (%s): %s", cfg.name or cfg.path.stem, cfg.mode, cfg.description)
    return run_pipeline(cfg.pipeline(), args, duration_s=args.duration, progress=False)
