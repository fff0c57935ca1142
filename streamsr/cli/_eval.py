"""``streamsr eval``: PSNR/SSIM (and optionally identity) of the model beside bicubic on faces."""

from __future__ import annotations

import argparse

from streamsr.cli._common import BACKENDS


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from streamsr.enhance import load_enhancer
    from streamsr.training import (
        classic_methods,
        enhancer_method,
        evaluate_crops,
        face_crops,
        find_images,
        format_table,
    )
    from streamsr.training._eval import MIN_CROP_PX

    enhancer = load_enhancer(
        args.scale,
        arch=args.arch,
        weights=args.weights,
        variant=args.variant,
        device=args.device,
        backend=args.backend,
    )
    crops = face_crops(find_images(args.data))
    if not crops.crops:
        from streamsr._errors import DatasetError

        raise DatasetError(
            f"no face crop of at least {MIN_CROP_PX} px found in {', '.join(args.data)}"
        )
    methods = {**classic_methods(args.scale), "model": enhancer_method(enhancer)}
    scores = evaluate_crops(crops.crops, scale=args.scale, degrade=args.degrade, methods=methods)
    result: dict[str, object] = {
        "scale": args.scale,
        "images": crops.images,
        "faces": len(crops.crops),
        **scores,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table({**result, "degrade": args.degrade}))
        print(
            f"model: {enhancer.meta.get('path')}; {crops.unreadable} unreadable, {crops.too_small} faces too small"
        )
    return 0


def add_eval(sub: argparse._SubParsersAction) -> None:
    from streamsr.enhance._srcnn import ARCHS

    p = sub.add_parser("eval", help="PSNR/SSIM of bicubic, Lanczos and the model on face crops")
    p.add_argument(
        "--data", nargs="+", required=True, metavar="DIR", help="folders of high-quality images"
    )
    p.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    p.add_argument(
        "--arch",
        choices=ARCHS,
        help="default: the file default (fsrcnn-s at x2, srcnn-955 at x3, x4), or the one --weights names",
    )
    p.add_argument("--weights", metavar="PATH", help="weights file (default: the shipped ones)")
    p.add_argument(
        "--variant", choices=("clean", "video"), default="clean", help="which shipped weights"
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="inference backend (auto: the fastest available here, named at start-up)",
    )
    p.add_argument(
        "--degrade",
        choices=("clean", "realistic"),
        default="clean",
        help="clean: antialiased bicubic downscale; realistic: blur 1.0, downscale, JPEG 60",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_eval)
