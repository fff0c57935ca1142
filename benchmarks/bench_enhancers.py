"""Inference speed of each enhancer backend: crops per second and ms per batch.

One class per backend (a subclass of :class:`BackendBench` with setup / prepare / run /
teardown). Every backend times the same synthetic uint8 luma batches through its
``infer_luma`` (the network plus the uint8 conversions and, on a GPU, the host <-> device
copies): output crops of ``--sizes`` px at ``--batches`` crops per call. For each cell the
backends take turns rep by rep, so that their ratios hold on a shared, noisy machine; the
first call of a cell (compiles, graph captures, engine builds) is warm-up and not timed.
Reported: the median over reps; on CUDA the device time from CUDA events beside the wall time
(both include the host <-> device copies), and the *kernel-only* time: the backend's compiled
work (graph replay, compiled function, engine) on an input already on the device, timed with
CUDA events over 20 calls, with its rate as a fraction of the GPU's fp16 matrix peak as
measured here (a large ``torch.matmul``). A backend that fails (setup, warm-up or a timed call)
is reported with its error and left out of the later cells; the others go on.

``--mixed N`` adds an ``Enhancer.enhance`` run over N crops of different sizes (as a frame
with several faces gives), with and without size buckets.

Uses the shipped weights ``{arch}_x{S}_clean.pt`` when present, else a randomly
initialised network (timing does not depend on the weights). ``--arch`` takes several
networks, comma-separated: they take turns with the backends in every cell, so that their
ratios hold too.

    python benchmarks/bench_enhancers.py                      # every available backend
    python benchmarks/bench_enhancers.py --backends cpu,onnxruntime --sizes 128 --batches 1,8
    python benchmarks/bench_enhancers.py --json --mixed 8
    python benchmarks/bench_enhancers.py --arch fsrcnn-s,srcnn-915s --scale 2 --sizes 228,800
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from typing import Any, ClassVar

import numpy as np
import torch

from streamsr.enhance._srcnn import ARCHS, Network, build_srcnn, multiply_adds
from streamsr.enhance._weights import load_weights_file, shipped_weights_path
from streamsr.enhance.backends import Backend
from streamsr.enhance.backends._base import (
    BATCH_BUCKETS,
    BUCKET_SIDES,
    batch_bucket,
    luma_to_tensor,
)
from streamsr.enhance.backends._select import importable, make_backend

MAX_REPS = 200  # per cell and backend
KERNEL_CALLS = 20  # per kernel-only measurement


def matmul_peak_tflops(device: torch.device, n: int = 8192, reps: int = 20) -> float:
    """The fp16 matrix rate this GPU reaches on a large square ``torch.matmul`` (TFLOP/s)."""
    a = torch.randn((n, n), device=device, dtype=torch.float16)
    b = torch.randn((n, n), device=device, dtype=torch.float16)
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(device)
    start.record()
    for _ in range(reps):
        a @ b
    end.record()
    end.synchronize()
    return 2 * n**3 * reps / (start.elapsed_time(end) / 1000.0) / 1e12


def load_model(arch: str, scale: int) -> tuple[Network, str]:
    path = shipped_weights_path(arch, scale, "clean")
    model = build_srcnn(arch, scale=scale)
    if path.is_file():
        state, _ = load_weights_file(path)
        model.load_state_dict(state)
        return model, path.name
    torch.manual_seed(0)
    return build_srcnn(arch, scale=scale), "random init"


class BackendBench:
    """One backend under test. Subclasses name the backend and the device it needs."""

    name: ClassVar[str]
    device_type: ClassVar[str] = "cpu"

    def __init__(self, model: Network, *, arch: str, scale: int) -> None:
        self.model, self.arch, self.scale = model, arch, scale
        self.label = self.name if self.device_type == "cpu" else f"{self.name}:cuda"
        self.label = f"{arch}/{self.label}"
        self.backend: Backend | None = None
        self._y = np.empty((0, 0, 0), np.uint8)

    def unavailable(self) -> str | None:
        """Why this backend cannot run here, or None."""
        if self.device_type == "cuda" and not torch.cuda.is_available():
            return "no CUDA device"
        return None

    def setup(self) -> None:
        device = torch.device(self.device_type)
        self.backend = make_backend(self.name, self.model, device, arch=self.arch, scale=self.scale)

    def prepare(self, y_up: np.ndarray) -> None:
        """Take the cell's input and warm up on it (untimed)."""
        self._y = y_up
        self.run()

    def run(self) -> None:
        assert self.backend is not None
        self.backend.infer_luma(self._y)

    def time_once(self) -> tuple[float, float | None]:
        """One timed :meth:`run`: wall ms, and device ms where there is a device."""
        t0 = time.perf_counter()
        self.run()
        return (time.perf_counter() - t0) * 1000.0, None

    def teardown(self) -> None:
        self.backend = None

    def kernel(self) -> Any:
        """A callable running the backend's compiled work on a device-resident input, or None."""
        return None


class CudaTimed(BackendBench):
    device_type = "cuda"

    def kernel_ms(self) -> float | None:
        """Milliseconds per call of :meth:`kernel` (CUDA events over :data:`KERNEL_CALLS`)."""
        fn = self.kernel()
        if fn is None:
            return None
        fn()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        for _ in range(KERNEL_CALLS):
            fn()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) / KERNEL_CALLS

    def device_input(self) -> torch.Tensor:
        return torch.from_numpy(self._y).to(self.device_type)

    def time_once(self) -> tuple[float, float | None]:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        start.record()
        self.run()
        end.record()
        end.synchronize()
        return (time.perf_counter() - t0) * 1000.0, float(start.elapsed_time(end))

    def teardown(self) -> None:
        super().teardown()
        torch.cuda.empty_cache()


class CpuBench(BackendBench):
    name = "cpu"


class PlainEagerBackend:
    """Reference only, not a streamsr backend: fp32 eager PyTorch in the default NCHW layout."""

    name = "eager-nchw"

    def __init__(self, model: Network) -> None:
        self._model = copy.deepcopy(model).eval()

    @torch.inference_mode()
    def infer_luma(self, y_up: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(y_up).unsqueeze(1).float().div_(255.0)
        y = self._model(x).squeeze(1).mul_(255.0).round_().clamp_(0, 255)
        return y.to(torch.uint8).numpy()


class PlainEagerBench(BackendBench):
    """The baseline the others are compared with: eager PyTorch without channels_last."""

    name = "eager-nchw"

    def setup(self) -> None:
        self.backend = PlainEagerBackend(self.model)


class OnnxRuntimeBench(BackendBench):
    name = "onnxruntime"

    def unavailable(self) -> str | None:
        return None if importable("onnxruntime") else "onnx / onnxruntime not installed"


class OnnxResidualBench(OnnxRuntimeBench):
    """What the pipeline runs on a CPU: ONNX Runtime's residual graph. A low-resolution
    network reads the crop's own luma (``scale`` times smaller per side; the bicubic folded into
    its first convolution), an SRCNN the upscaled plane; no rounding, no uint8 output."""

    name = "onnxruntime-residual"

    def setup(self) -> None:
        self.backend = make_backend(
            "onnxruntime", self.model, torch.device("cpu"), arch=self.arch, scale=self.scale
        )

    def prepare(self, y_up: np.ndarray) -> None:
        backend: Any = self.backend
        if backend.reads_low_resolution:
            y_up = np.ascontiguousarray(y_up[:, :: self.scale, :: self.scale])
        super().prepare(y_up)

    def run(self) -> None:
        backend: Any = self.backend
        if backend.reads_low_resolution:
            backend.infer_residual_lr(self._y)
        else:
            backend.infer_residual(self._y)


class CompileBench(BackendBench):
    name = "compile"


class CompileCudaBench(CudaTimed):
    name = "compile"

    def kernel(self) -> Any:
        n, h, w = self._y.shape
        if h != w or h not in BUCKET_SIDES or n > BATCH_BUCKETS[-1]:
            return None  # the backend runs such shapes eagerly: no compiled work to time
        x = self.device_input()
        backend: Any = self.backend
        return lambda: backend._padded(x)


class CudaGraphBench(CudaTimed):
    name = "cuda"

    def kernel(self) -> Any:
        n, h, w = self._y.shape
        backend: Any = self.backend
        g = backend._graphs.get((batch_bucket(n), h, w)) if n <= BATCH_BUCKETS[-1] else None
        return None if g is None else g.graph.replay


class TensorRTBench(CudaTimed):
    name = "tensorrt"

    def kernel(self) -> Any:
        n, h, w = self._y.shape
        backend: Any = self.backend
        if h != w or h not in backend._sides or n > backend._max_batch:
            return None
        engine = backend._engine(h)
        x = luma_to_tensor(self.device_input(), torch.float16)
        return lambda: engine(x)

    def unavailable(self) -> str | None:
        return super().unavailable() or (
            None if importable("tensorrt") else "torch_tensorrt not importable"
        )


BENCHES: dict[str, list[type[BackendBench]]] = {
    "eager-nchw": [PlainEagerBench],
    "cpu": [CpuBench],
    "onnxruntime": [OnnxRuntimeBench],
    "onnxruntime-residual": [OnnxResidualBench],
    "compile": [CompileBench, CompileCudaBench],
    "cuda": [CudaGraphBench],
    "tensorrt": [TensorRTBench],
}


def failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def time_cell(
    benches: list[BackendBench],
    y_up: np.ndarray,
    *,
    min_reps: int,
    min_seconds: float,
    failed: dict[str, str],
) -> dict[str, dict[str, float]]:
    """Time each backend on ``y_up``, taking turns, for at least ``min_reps`` rounds and
    ``min_seconds`` per backend. A backend that raises is put in ``failed`` (label: error) and
    dropped from ``benches``; the others carry on."""

    def fail(b: BackendBench, exc: BaseException) -> None:
        failed[b.label] = f"{y_up.shape[0]}x{y_up.shape[1]}px: {failure(exc)}"
        benches.remove(b)
        print(f"# {b.label} failed: {failed[b.label]}", file=sys.stderr, flush=True)

    for b in list(benches):
        try:
            b.prepare(y_up)
        except Exception as exc:  # one backend's failure must not end the run
            fail(b, exc)
    wall: dict[str, list[float]] = {b.label: [] for b in benches}
    dev: dict[str, list[float]] = {b.label: [] for b in benches}
    t_start = time.perf_counter()
    reps = 0
    while benches and (
        reps < min_reps
        or (reps < MAX_REPS and time.perf_counter() - t_start < min_seconds * len(benches))
    ):
        for b in list(benches):
            try:
                w, d = b.time_once()
            except Exception as exc:
                fail(b, exc)
                continue
            wall[b.label].append(w)
            if d is not None:
                dev[b.label].append(d)
        reps += 1
    out = {}
    for b in benches:
        label = b.label
        out[label] = {"ms_per_batch": statistics.median(wall[label]), "reps": float(reps)}
        if dev[label]:
            out[label]["device_ms_per_batch"] = statistics.median(dev[label])
        if isinstance(b, CudaTimed):
            try:
                k = b.kernel_ms()
            except Exception as exc:
                print(f"# {label}: no kernel-only time ({failure(exc)})", file=sys.stderr)
                k = None
            if k is not None:
                out[label]["kernel_ms_per_batch"] = k
    return out


def mixed_run(
    model: Network, backends: list[tuple[str, str]], scale: int, n: int, arch: str
) -> list[dict[str, Any]]:
    """``Enhancer.enhance`` over ``n`` crops of mixed sizes, buckets off and on, for each
    ``(backend name, device type)``."""
    from streamsr.enhance._enhancer import Enhancer  # OpenCV: only for this mode

    rng = np.random.default_rng(1)
    sides = rng.integers(64 // scale, 256 // scale + 1, n)
    crops = [rng.integers(0, 256, (int(s), int(s), 3), dtype=np.uint8) for s in sides]
    rows = []
    enhancers: dict[tuple[str, str, bool], Any] = {}
    for name, device_type in backends:
        dev = torch.device(device_type)
        backend = make_backend(name, model, dev, arch=arch, scale=scale)
        for buckets in (False, True):
            e = Enhancer(backend, scale=scale, device=dev, meta={"arch": arch}, buckets=buckets)
            e.enhance(crops)  # warm-up
            enhancers[(name, device_type, buckets)] = e
    times: dict[tuple[str, str, bool], list[float]] = {k: [] for k in enhancers}
    for _ in range(6):
        for key, e in enhancers.items():
            t0 = time.perf_counter()
            e.enhance(crops)
            times[key].append((time.perf_counter() - t0) * 1000.0)
    for (name, device_type, buckets), ts in times.items():
        ms = statistics.median(ts)
        rows.append(
            {
                "backend": name,
                "device": device_type,
                "arch": arch,
                "scale": scale,
                "mode": "enhance-mixed",
                "buckets": buckets,
                "size": None,  # mixed: see sizes
                "sizes": sorted(int(s) * scale for s in sides),
                "batch": n,
                "crops": n,
                "ms_per_batch": round(ms, 3),
                "ms_per_call": round(ms, 3),
                "crops_per_s": round(n * 1000.0 / ms, 2),
            }
        )
    return rows


def parse_ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--backends",
        default=",".join(BENCHES),
        help=f"comma-separated, from {', '.join(BENCHES)} (default: all)",
    )
    ap.add_argument("--sizes", type=parse_ints, default=[64, 128, 256], help="output px")
    ap.add_argument(
        "--batches",
        type=parse_ints,
        default=None,
        help="crops per call (default 1,8,32,128 on CUDA; 1,8,32 on the CPU, where 128 is minutes)",
    )
    ap.add_argument("--scale", type=int, default=4, choices=(2, 3, 4))
    ap.add_argument("--arch", default="srcnn-955", help=f"comma-separated, from {', '.join(ARCHS)}")
    ap.add_argument("--threads", type=int, help="torch (and ONNX Runtime) intra-op threads")
    ap.add_argument(
        "--mixed",
        type=int,
        default=0,
        metavar="N",
        help="also time enhance() on N mixed-size crops",
    )
    ap.add_argument("--min-reps", type=int, default=3, help="timed calls per cell (default 3)")
    ap.add_argument(
        "--min-seconds", type=float, default=1.0, help="timed seconds per cell and backend"
    )
    ap.add_argument("--json", action="store_true", help="print a JSON list of result rows")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    archs = [x for x in a.arch.split(",") if x]
    for arch in archs:
        if arch not in ARCHS:
            ap.error(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)}")
    models = {arch: load_model(arch, a.scale) for arch in archs}
    benches: list[BackendBench] = []
    skipped = []
    for name in a.backends.split(","):
        if name not in BENCHES:
            ap.error(f"unknown backend {name!r}; choose from {', '.join(BENCHES)}")
    for arch, (model, _) in models.items():
        for name in a.backends.split(","):
            for cls in BENCHES[name]:
                b = cls(model, arch=arch, scale=a.scale)
                why = b.unavailable()
                if why:
                    skipped.append(f"{b.label} ({why})")
                    continue
                try:
                    b.setup()
                except Exception as exc:  # one backend's failure must not end the run
                    skipped.append(f"{b.label} ({failure(exc)})")
                    continue
                benches.append(b)
    on_gpu = any(b.device_type == "cuda" for b in benches)
    peak = matmul_peak_tflops(torch.device("cuda")) if on_gpu else None
    all_benches = list(benches)
    failed: dict[str, str] = {}
    batches = a.batches or ([1, 8, 32, 128] if on_gpu else [1, 8, 32])
    weights = ", ".join(f"{arch}: {w}" for arch, (_, w) in models.items())
    print(
        f"# x{a.scale} ({weights}); torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; skipped: {', '.join(skipped) or 'none'}",
        file=sys.stderr,
    )
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for size in a.sizes:
        for batch in batches:
            y_up = rng.integers(0, 256, (batch, size, size), dtype=np.uint8)
            cell = time_cell(
                benches, y_up, min_reps=a.min_reps, min_seconds=a.min_seconds, failed=failed
            )
            for b in benches:
                r = cell[b.label]
                row: dict[str, Any] = {
                    "backend": b.name,
                    "device": b.device_type,
                    "arch": b.arch,
                    "scale": a.scale,
                    "size": size,
                    "batch": batch,
                    "ms_per_batch": round(r["ms_per_batch"], 3),
                    "ms_per_crop": round(r["ms_per_batch"] / batch, 3),
                    "crops_per_s": round(batch * 1000.0 / r["ms_per_batch"], 2),
                    "reps": int(r["reps"]),
                }
                if "device_ms_per_batch" in r:
                    row["device_ms_per_batch"] = round(r["device_ms_per_batch"], 3)
                if "kernel_ms_per_batch" in r:
                    k = r["kernel_ms_per_batch"]
                    tflops = 2 * multiply_adds(b.model) * batch * size * size / (k / 1000) / 1e12
                    row["kernel_ms_per_batch"] = round(k, 4)
                    row["kernel_crops_per_s"] = round(batch * 1000.0 / k, 1)
                    row["kernel_tflops"] = round(tflops, 3)
                    if peak:
                        row["fraction_of_fp16_peak"] = round(tflops / peak, 4)
                rows.append(row)
            if not a.json:
                print(f"# done {size}px x{batch}", file=sys.stderr, flush=True)
    for b in all_benches:
        b.teardown()
    mixed = []
    for arch, (model, _) in models.items():
        pairs = [
            (b.name, b.device_type)
            for b in benches
            if b.arch == arch and not isinstance(b, PlainEagerBench)
        ]
        mixed += mixed_run(model, pairs, a.scale, a.mixed, arch) if a.mixed else []
    problems = [
        {"backend": label, "error": why, "mode": "skipped"} for label, why in failed.items()
    ] + [{"backend": text, "mode": "skipped"} for text in skipped]
    if a.json:
        meta = {"mode": "machine", "torch": torch.__version__, "threads": torch.get_num_threads()}
        if on_gpu:
            meta.update(gpu=torch.cuda.get_device_name(), fp16_matmul_peak_tflops=round(peak, 1))
        print(json.dumps([meta, *rows, *mixed, *problems], indent=1))
        return 0
    if peak:
        print(f"# {torch.cuda.get_device_name()}: fp16 matmul peak measured {peak:.1f} TFLOP/s")
    for label, why in failed.items():
        print(f"# failed: {label}: {why}")
    print_table(rows)
    for m in mixed:
        print(
            f"{m['arch']}: enhance() of {m['crops']} mixed crops "
            f"({min(m['sizes'])}-{max(m['sizes'])} px) "
            f"{m['backend']:<12}{m['device']:<5} buckets {'on ' if m['buckets'] else 'off'}: "
            f"{m['ms_per_call']:8.1f} ms ({m['crops_per_s']:.1f} crops/s)"
        )
    return 0


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'arch':<12}{'backend':<22}{'device':<7}{'size':>6}{'batch':>7}{'ms/batch':>11}{'ms/crop':>10}"
        f"{'crops/s':>10}{'dev ms':>9}{'kern ms':>9}{'% peak':>8}{'vs cpu':>9}{'vs nchw':>9}"
    )
    print(head)
    print("-" * len(head))

    def ratios(name: str) -> dict[tuple[str, int, int], float]:
        return {
            (r["arch"], r["size"], r["batch"]): r["ms_per_crop"]
            for r in rows
            if r["backend"] == name
        }

    cpu, nchw = ratios("cpu"), ratios("eager-nchw")
    for r in rows:
        cell = (r["arch"], r["size"], r["batch"])
        vs = [f"{b[cell] / r['ms_per_crop']:.2f}x" if cell in b else "" for b in (cpu, nchw)]
        dev = f"{r['device_ms_per_batch']:.2f}" if "device_ms_per_batch" in r else ""
        kern = f"{r['kernel_ms_per_batch']:.3f}" if "kernel_ms_per_batch" in r else ""
        frac = r.get("fraction_of_fp16_peak")
        pct = f"{100 * frac:.1f}" if frac is not None else ""
        print(
            f"{r['arch']:<12}{r['backend']:<22}{r['device']:<7}{r['size']:>6}{r['batch']:>7}"
            f"{r['ms_per_batch']:>11.2f}{r['ms_per_crop']:>10.2f}{r['crops_per_s']:>10.1f}"
            f"{dev:>9}{kern:>9}{pct:>8}{vs[0]:>9}{vs[1]:>9}"
        )


if __name__ == "__main__":
    sys.exit(main())
