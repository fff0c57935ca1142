"""``streamsr train`` and ``streamsr export``: the model's sub-commands."""

from __future__ import annotations

import argparse
import logging
import math
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
            h264_inter=args.h264_inter,
            folder_weights=tuple(args.folder_weight or ()),
            lr=args.lr,
            val_every_s=args.val_every,
        )
    )
    return 0


def _folder_weight(text: str) -> tuple[str, float]:
    name, sep, weight = text.partition("=")
    try:
        value = float(weight)
    except ValueError:
        value = math.nan
    if not sep or not name or not value > 0:
        raise argparse.ArgumentTypeError(f"expected NAME=W with W > 0, got {text!r}")
    return name, value


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
        choices=("clean", "realistic", "video"),
        default="clean",
        help="clean downscales only; realistic: sometimes blur, noise, JPEG or H.264 (the "
        "2026-11 mix); video: blur, noise and JPEG or H.264 on nearly every sample",
    )
    p.add_argument(
        "--clean-fraction",
        type=float,
        default=0.3,
        help="share of clean samples in --degrade realistic or video (default 0.3)",
    )
    p.add_argument(
        "--h264-inter",
        type=float,
        default=0.0,
        metavar="P",
        help="share of the H.264 batches coded as the last frame of a short moving clip (P/B "
        "frame, as streams are) instead of one intra frame (default 0)",
    )
    p.add_argument(
        "--folder-weight",
        type=_folder_weight,
        action="append",
        metavar="NAME=W",
        help="draw images under a folder called NAME W times as often per image "
        "(repeatable; e.g. hq=3)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=1e-3,
        help="Adam learning rate of the first two layers "
        "(the last gets a tenth); cosine decay over the run (default 1e-3)",
    )
    p.add_argument(
        "--val-every",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="validate (and keep the best weights) this often (default 120)",
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
        help="default: the file default (--quality best: espcn), or the one --weights names",
    )
    p.add_argument("--variant", choices=("clean", "video"), default="clean")
    p.add_argument("--weights", metavar="PATH")
    p.set_defaults(func=_cmd_export)
