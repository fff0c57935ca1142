"""Quality of the shipped SRCNN against the peers, on the same face crops and protocols.

Peers (from ../shared/peers, never shipped): OpenCV dnn_superres ESPCN, FSRCNN, FSRCNN-small
and LapSRN, and the Nhat-Thanh SRCNN-Pytorch weights (one model for every scale). Every method
gets the same low-resolution input; PSNR-Y and SSIM-Y as in ``streamsr eval``.

    python benchmarks/bench_quality.py --data ../shared/data/faces/eval/face_recognition \
        --scales 2 3 4 --degrade clean realistic [--peer-python /path/to/python-with-opencv4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from streamsr.enhance import default_arch, load_enhancer
from streamsr.enhance._weights import shipped_weights_path
from streamsr.training import (
    EVAL_DEGRADATIONS,
    classic_methods,
    enhancer_method,
    evaluate_crops,
    face_crops,
    find_images,
    format_table,
)

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"


def _opencv_reads_pb() -> bool:
    try:
        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(str(PEERS / "opencv_dnn_superres" / "ESPCN_x2.pb"))
        return True
    except (cv2.error, AttributeError):
        return False


def opencv_peers(scale: int, lrs: list[np.ndarray], peer_python: str | None) -> dict[str, object]:
    """Run the OpenCV dnn_superres models on ``lrs`` (here, or under ``peer_python`` with
    OpenCV 4.x when this OpenCV cannot read TensorFlow graphs); methods look results up by input."""
    d = PEERS / "opencv_dnn_superres"
    if not d.is_dir():
        return {}
    script = Path(__file__).with_name("peers_opencv.py")
    if _opencv_reads_pb():
        python = sys.executable
    elif peer_python:
        python = peer_python
    else:
        print(
            "OpenCV dnn_superres peers skipped: this OpenCV cannot read .pb models (OpenCV 5 dropped the "
            "TensorFlow importer); pass --peer-python with an interpreter that has opencv-contrib 4.x",
            file=sys.stderr,
        )
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "lr", Path(tmp) / "sr"
        inp.mkdir()
        for i, lr in enumerate(lrs):
            cv2.imwrite(str(inp / f"{i:04d}.png"), lr[..., ::-1])
        subprocess.run(
            [
                python,
                str(script),
                "--scale",
                str(scale),
                "--peers",
                str(d),
                "--inp",
                str(inp),
                "--out",
                str(out),
            ],
            check=True,
        )
        table: dict[str, dict[bytes, np.ndarray]] = {}
        for model_dir in sorted(out.iterdir()):
            table[model_dir.name] = {
                lrs[i].tobytes(): np.ascontiguousarray(
                    cv2.imread(str(model_dir / f"{i:04d}.png"))[..., ::-1]
                )
                for i in range(len(lrs))
            }

    def lookup(name: str) -> object:
        return lambda lr: table[name][lr.tobytes()]

    return {f"peer {name}": lookup(name) for name in table}


def degraded_inputs(crops: list[np.ndarray], scale: int, degrade: str) -> list[np.ndarray]:
    """The LR inputs evaluate_crops makes (same degradation and seed)."""
    rng = np.random.default_rng(0)
    return [EVAL_DEGRADATIONS[degrade].apply(hr, scale, rng) for hr in crops]


def _rgb_to_ycbcr_jpeg(x: np.ndarray) -> np.ndarray:
    r, g, b = (x[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return np.stack([np.clip(y, 16, 235), np.clip(cb, 16, 240), np.clip(cr, 16, 240)], -1) / 255.0


def _ycbcr_jpeg_to_rgb(x: np.ndarray) -> np.ndarray:
    y, cb, cr = x[..., 0] * 255, x[..., 1] * 255 - 128, x[..., 2] * 255 - 128
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def srcnn_peers(scale: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for k in ("915", "935", "955"):
        p = PEERS / "srcnn_pytorch" / f"nhatthanh_SRCNN-{k}.pt"
        if not p.is_file():
            continue
        sd = torch.load(p, map_location="cpu", weights_only=True)
        pad = (9 + int(k[1]) + 5 - 3) // 2

        def run(lr: np.ndarray, sd=sd, pad=pad) -> np.ndarray:  # type: ignore[no-untyped-def]
            up = cv2.resize(
                lr, (lr.shape[1] * scale, lr.shape[0] * scale), interpolation=cv2.INTER_CUBIC
            )
            x = torch.from_numpy(_rgb_to_ycbcr_jpeg(up)).float().permute(2, 0, 1)[None]
            x = F.pad(x, (pad,) * 4, mode="reflect")
            with torch.no_grad():
                y = F.relu(F.conv2d(x, sd["patch_extraction.weight"], sd["patch_extraction.bias"]))
                y = F.relu(F.conv2d(y, sd["nonlinear_map.weight"], sd["nonlinear_map.bias"]))
                y = F.conv2d(y, sd["recon.weight"], sd["recon.bias"]).clamp(0, 1)
            return _ycbcr_jpeg_to_rgb(y[0].permute(1, 2, 0).numpy())

        out[f"peer SRCNN-{k} (Nhat-Thanh)"] = run
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", nargs="+", default=[str(PEERS.parent / "data/faces/eval/face_recognition")]
    )
    ap.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--degrade", nargs="+", default=["clean", "realistic"])
    ap.add_argument("--variants", nargs="+", default=["clean", "video"])
    ap.add_argument(
        "--archs",
        nargs="+",
        help="networks to compare (default: the file default of each scale); an arch without "
        "weights for a scale is left out of that scale",
    )
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument(
        "--peer-python",
        default=os.environ.get("STREAMSR_PEER_PYTHON"),
        help="interpreter with opencv-contrib 4.x for the OpenCV peers (OpenCV 5 cannot read them)",
    )
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    crops = face_crops(find_images(a.data))
    results = []
    for scale in a.scales:
        methods = dict(classic_methods(scale))
        for arch in a.archs or [default_arch(scale, live=False)]:
            for v in a.variants:
                if not shipped_weights_path(arch, scale, v).is_file():
                    continue
                name = f"streamsr {v}" if not a.archs else f"{arch} {v}"
                methods[name] = enhancer_method(
                    load_enhancer(scale, arch=arch, variant=v, device="cpu")
                )
        if not a.no_peers:
            methods.update(srcnn_peers(scale))  # type: ignore[arg-type]
        for deg in a.degrade:
            if not a.no_peers:
                lrs = degraded_inputs(crops.crops, scale, deg)
                methods.update(opencv_peers(scale, lrs, a.peer_python))  # type: ignore[arg-type]
            r = {
                "scale": scale,
                "degrade": deg,
                "images": crops.images,
                "faces": len(crops.crops),
                **evaluate_crops(crops.crops, scale=scale, degrade=deg, methods=methods),
            }  # type: ignore[arg-type]
            results.append(r)
            if not a.json:
                print(format_table(r), end="\n\n", flush=True)
    if a.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
