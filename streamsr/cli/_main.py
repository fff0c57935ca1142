"""The ``streamsr`` parser and ``main``: one-line errors, exit codes."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from streamsr._errors import StreamSRError
from streamsr.cli._common import BACKENDS, EXIT_ERROR, EXIT_INTERRUPTED
from streamsr.cli._train import add_eval, add_export, add_train

log = logging.getLogger("streamsr")


def _cmd_enhance(args: argparse.Namespace) -> int:
    from streamsr.runtime._live_cli import run_live, wants_live

    if wants_live(args):
        return run_live(args)
    import json

    from streamsr._demo import demo_input, write_side_by_side
    from streamsr.runtime._pipeline import Pipeline

    if args.demo == (args.input is not None):
        from streamsr._errors import ConfigError

        raise ConfigError("give an INPUT video or --demo (not both)")
    src = demo_input() if args.demo else args.input
    opts = {
        k: getattr(args, k)
        for k in (
            "scale",
            "arch",
            "variant",
            "device",
            "weights",
            "detect_every",
            "min_face",
            "codec",
            "crf",
            "preset",
            "backend",
            "mark",
            "temporal",
            "overwrite",
        )
    }
    interrupted = False
    with Pipeline(src, args.output, **opts) as p:
        log.info("%s -> %s: x%d, %s", p.source.name, args.output, args.scale, p.enhancer)
        try:
            p.run(progress=not args.no_progress)
        except KeyboardInterrupt:
            interrupted = True
            p.stats.interrupted = True
    st = p.stats
    ms = ", ".join(f"{k} {v:.1f}" for k, v in st.stage_ms.items())
    log.info(
        "%s %d frames in %.1f s (%.1f fps); %d frames with faces, %d faces enhanced, %d tracks, "
        "%d decode errors; ms per frame: %s",
        "interrupted after" if interrupted else "done:",
        st.frames_out,
        st.seconds,
        st.fps,
        st.frames_with_faces,
        st.faces_enhanced,
        st.tracks,
        st.decode_errors,
        ms,
    )
    if args.stats_json:
        Path(args.stats_json).write_text(json.dumps(st.to_dict(), indent=2) + "\n")
    if interrupted:
        print(
            f"streamsr: interrupted; {args.output} holds the {st.frames_out} frames processed",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if args.demo:
        pic = Path(args.output).with_suffix(".png")
        if write_side_by_side(src, pic, p.enhancer):
            log.info("side-by-side picture (bicubic | enhanced): %s", pic)
    return 0


def _add_enhance(sub: argparse._SubParsersAction) -> None:
    from streamsr.enhance._srcnn import ARCHS
    from streamsr.runtime._live_cli import add_live_arguments

    p = sub.add_parser("enhance", help="enhance the faces of a video file, stream or camera")
    p.add_argument("input", nargs="?", help="input video (any container and codec FFmpeg reads)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4, .mkv, .mov, .ts)")
    p.add_argument("--demo", action="store_true", help="use the bundled demo clip as input")
    p.add_argument("--scale", type=int, choices=(2, 3, 4), default=2)
    p.add_argument(
        "--arch",
        choices=ARCHS,
        help="network (default: srcnn-955 for files, srcnn-915s for live streams; with "
        "--weights, the one the file names)",
    )
    p.add_argument(
        "--variant",
        choices=("clean", "video"),
        default="video",
        help="shipped weights: video (trained with blur, noise, compression) or clean",
    )
    p.add_argument("--weights", metavar="PATH", help="weights file instead of the shipped ones")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="inference backend (auto: the fastest available here, named at start-up)",
    )
    p.add_argument(
        "--detect-every",
        type=int,
        default=3,
        metavar="N",
        help="run the face detector every N frames, track in between (default 3)",
    )
    p.add_argument(
        "--min-face", type=int, default=0, metavar="PX", help="ignore faces narrower than PX"
    )
    p.add_argument("--codec", choices=("h264", "hevc", "av1"), default="h264")
    p.add_argument("--crf", type=int, help="encoder quality (default: 20 for h264)")
    p.add_argument("--preset", help="encoder preset (default: veryfast for h264/hevc)")
    p.add_argument(
        "--mark",
        action="store_true",
        help="outline enhanced regions and label them with the track id",
    )
    p.add_argument(
        "--no-temporal",
        dest="temporal",
        action="store_false",
        help="no temporal smoothing of the enhancement (on by default: less flicker on still faces)",
    )
    p.add_argument("--stats-json", metavar="PATH", help="write the run's statistics as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_live_arguments(p)
    p.set_defaults(func=_cmd_enhance)


def _add_run(sub: argparse._SubParsersAction) -> None:
    from streamsr.runtime._live_cli import add_run_parser

    add_run_parser(sub)


_ADDERS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_enhance,
    add_train,
    add_eval,
    add_export,
    _add_run,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamsr", description="Enhance the faces in live and recorded video."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(sub)
    return parser


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM stops cleanly, as Ctrl-C does
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    try:
        return int(args.func(args))
    except StreamSRError as exc:
        print(f"streamsr: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("streamsr: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
