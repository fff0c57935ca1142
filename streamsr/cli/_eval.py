"""``streamsr eval``: PSNR/SSIM (and optionally identity) of the model beside bicubic on faces."""

from __future__ import annotations

import argparse
from pathlib import Path

from streamsr.cli._common import BACKENDS


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from streamsr._errors import DatasetError
    from streamsr.enhance import load_enhancer
    from streamsr.training import (
        classic_methods,
        enhancer_method,
        evaluate_crops,
        face_crops,
        find_images,
        format_table,
    )
    from streamsr.training._dataset import is_validation
    from streamsr.training._eval import MIN_CROP_PX, auto_method

    collector = None
    if args.identity:  # before the network: a missing extra fails fast
        from streamsr.training._identity import IdentityCollector, IdentityModel

        collector = IdentityCollector(IdentityModel(), ("bicubic", "model"))
    if args.weights is not None and not Path(args.weights).is_file():
        from streamsr._errors import WeightsError

        raise WeightsError(f"weights file not found: {args.weights}")
    paths = find_images(args.data)
    if args.holdout:
        paths = [p for p in paths if is_validation(p)]
        if not paths:
            raise DatasetError(f"no held-out training image in {', '.join(args.data)}")
    enhancer = load_enhancer(
        args.scale,
        arch=args.arch,
        weights=args.weights,
        variant=args.variant,
        device=args.device,
        backend=args.backend,
    )
    crops = face_crops(paths)
    if not crops.crops:
        raise DatasetError(
            f"no face crop of at least {MIN_CROP_PX} px found in {', '.join(args.data)}"
        )
    chosen: dict[str, int] = {}
    model = (
        auto_method(enhancer, chosen)
        if hasattr(enhancer, "enhancers")
        else enhancer_method(enhancer)
    )
    methods = {**classic_methods(args.scale), "model": model}
    scores = evaluate_crops(
        crops.crops, scale=args.scale, degrade=args.degrade, methods=methods, identity=collector
    )
    result: dict[str, object] = {
        "scale": args.scale,
        "images": crops.images,
        "faces": len(crops.crops),
        "arch": enhancer.arch,
        "variant": args.variant if args.weights is None else "file",
        **scores,
    }
    if chosen:
        result["auto_chose"] = chosen
    if collector is not None:
        result["identity"] = collector.report()
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table({**result, "degrade": args.degrade}))
        picked = f"; auto chose {chosen}" if chosen else ""
        print(
            f"model: {enhancer.meta.get('path')}{picked}; {crops.unreadable} unreadable, "
            f"{crops.too_small} faces too small"
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
        help="default: the file default (--quality best: espcn), or the one --weights names",
    )
    p.add_argument("--weights", metavar="PATH", help="weights file (default: the shipped ones)")
    p.add_argument(
        "--variant",
        choices=("auto", "clean", "video"),
        default="clean",
        help="which shipped weights (auto: chosen per image from its blockiness, blur, noise)",
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
        choices=("clean", "realistic", "h264"),
        default="clean",
        help="clean: antialiased bicubic downscale; realistic: blur 1.0, downscale, JPEG 60; "
        "h264: downscale, then a motion-predicted H.264 frame at CRF 28 (as streams are)",
    )
    p.add_argument(
        "--identity",
        action="store_true",
        help="also face-recognition distances and rank-1 (extra: streamsr[identity])",
    )
    p.add_argument(
        "--holdout",
        action="store_true",
        help="only the images training holds out for validation (training folders' unseen faces)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_eval)
