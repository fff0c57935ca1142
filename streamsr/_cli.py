"""The ``streamsr`` command: sub-commands, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from streamsr._errors import StreamSRError

log = logging.getLogger("streamsr")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _cmd_train(args: argparse.Namespace) -> int:
    from streamsr.enhance._train import TrainOptions, train

    train(
        TrainOptions(
            data=tuple(args.data), scale=args.scale, out=Path(args.out), arch=args.arch,
            minutes=args.minutes, steps=args.steps, val=tuple(args.val or ()), seed=args.seed,
            resume=Path(args.resume) if args.resume else None,
            init=Path(args.init) if args.init else None, degrade=args.degrade,
            clean_fraction=args.clean_fraction,
        )
    )
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from streamsr.enhance._srcnn import ARCHS

    p = sub.add_parser("train", help="train SRCNN weights on a folder tree of face images")
    p.add_argument("--data", nargs="+", required=True, metavar="DIR", help="folders of face images (jpg/png)")
    p.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    p.add_argument("--arch", default="srcnn-955", choices=ARCHS)
    p.add_argument("--out", required=True, metavar="PATH", help="weights file to write (.pt)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--minutes", type=float, help="train for this wall-clock time")
    g.add_argument("--steps", type=int, help="train for this many steps")
    p.add_argument("--val", nargs="+", metavar="DIR", help="validation folders (default: a held-out part of --data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", metavar="CKPT", help="continue from a .ckpt written by an earlier run")
    p.add_argument("--init", metavar="PATH", help="start from these weights (fine-tuning, another scale)")
    p.add_argument("--degrade", choices=("clean", "realistic"), default="clean",
                   help="clean downscales only, or add blur, noise, JPEG and H.264 as in footage")
    p.add_argument("--clean-fraction", type=float, default=0.3,
                   help="share of clean samples in --degrade realistic (default 0.3)")
    p.set_defaults(func=_cmd_train)


_ADDERS: list[Callable[[argparse._SubParsersAction], None]] = [_add_train]  # type: ignore[type-arg]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamsr", description="Enhance the faces in live and recorded video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
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
