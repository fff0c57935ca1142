"""``streamsr train`` and ``streamsr export``: the model's sub-commands."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("streamsr")


def _cmd_train(args: argparse.Namespace) -> int:
    from streamsr.training import TrainOptions, train

    train(
        TrainOptions(
            data=tuple(args.data),
            scale=args.scale,
            out=Path(args.out),
            arch=args.arch,
            minutes=args.minutes,
            steps=args.steps,
            val=tuple(args.val or ()),
            seed=args.seed,
            resume=Path(args.resume) if args.resume else None,
            init=Path(args.init) if args.init else None,
            degrade=args.degrade,
            clean_fraction=args.clean_fraction,
            lr=args.lr,
        )
    )
    return 0


def add_train(sub: argparse._SubParsersAction) -> None:
    from streamsr.enhance._srcnn import ARCHS

    p = sub.add_parser("train", help="train SRCNN weights on a folder tree of face images")
    p.add_argument(
        "--data", nargs="+", required=True, metavar="DIR", help="folders of face images (jpg/png)"
    )
    p.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    p.add_argument("--arch", default="srcnn-955", choices=ARCHS)
    p.add_argument("--out", required=True, metavar="PATH", help="weights file to write (.pt)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--minutes", type=float, help="train for this wall-clock time")
    g.add_argument("--steps", type=int, help="train for this many steps")
    p.add_argument(
        "--val",
        nargs="+",
        metavar="DIR",
        help="validation folders (default: a held-out part of --data)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--resume", metavar="CKPT", help="continue from a .ckpt written by an earlier run"
    )
    p.add_argument(
        "--init", metavar="PATH", help="start from these weights (fine-tuning, another scale)"
    )
    p.add_argument(
        "--degrade",
        choices=("clean", "realistic"),
        default="clean",
        help="clean downscales only, or add blur, noise, JPEG and H.264 as in footage",
    )
    p.add_argument(
        "--clean-fraction",
        type=float,
        default=0.3,
        help="share of clean samples in --degrade realistic (default 0.3)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=1e-3,
        help="Adam learning rate of the first two layers "
        "(the last gets a tenth); cosine decay over the run (default 1e-3)",
    )
    p.set_defaults(func=_cmd_train)


def _cmd_export(args: argparse.Namespace) -> int:
    from streamsr.enhance import export_model

    out = export_model(
        args.backend,
        args.scale,
        args.out,
        arch=args.arch,
        variant=args.variant,
        weights=args.weights,
    )
    log.info("wrote %s", out)
    return 0


def add_export(sub: argparse._SubParsersAction) -> None:
    from streamsr.enhance._srcnn import ARCHS

    p = sub.add_parser("export", help="export the network for ONNX Runtime or TensorRT")
    p.add_argument("--backend", choices=("onnx", "tensorrt"), required=True)
    p.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument(
        "--arch",
        choices=ARCHS,
        help="default: the file default (fsrcnn-s at x2, srcnn-955 at x3, x4), or the one --weights names",
    )
    p.add_argument("--variant", choices=("clean", "video"), default="clean")
    p.add_argument("--weights", metavar="PATH")
    p.set_defaults(func=_cmd_export)
