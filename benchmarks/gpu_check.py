"""The one prepared GPU check: the GPU tests, the GPU benchmarks, one JSON.

Written for the GPU machine this project is sometimes lent (an H200 image with PyTorch and
CUDA, Python 3.12, and no PyAV, MediaPipe, OpenCV or TensorRT, nothing reachable from it): it
runs from the repository root with the package on ``PYTHONPATH`` (not installed: ``setup.cfg``
pins a torch that image does not have), and what it needs beyond torch and numpy (pytest,
OpenCV's headless wheel for the enhancer's colour steps) it installs from wheels carried in
``.gpu-wheels/`` into a scratch folder, without the network. The parts that need neither are
run first, so that a missing wheel costs only the steps that need it.

Steps, each in its own process with a time limit inside one overall budget, each written to
``OUT/gpu_check.json`` as soon as it ends (a cut-off run still leaves what it did):

1. the machine: GPU, compute capability, torch, CUDA, cuDNN, which extras import;
2. ``tests/enhance/test_gpu.py`` with ``STREAMSR_EXPECT_GPU=1`` (a skip is then a failure; and
   ``STREAMSR_EXPECT_TENSORRT=1`` where Torch-TensorRT imports): every GPU backend against
   float64 for srcnn-955, fsrcnn-s and espcn-s, CUDA-graph batches, compile's batch buckets,
   TensorRT's engine cache;
3. ``bench_enhancers.py`` at x4 for every shipped network family on the CUDA-graph and
   TensorRT backends (fp16), 64/128/256 px, batches 1-128: wall, device and kernel-only time,
   the fraction of the fp16 matrix peak measured on the spot; then ``torch.compile`` on CUDA
   (fewer cells: each shape compiles); then x2;
4. ``bench_shared.py``: the shared enhancer's scheduler with 1 to 32 synthetic camera feeds
   (issue 13): crops per second, crops per tick, waits;
5. the goals of issue 10, read from 3: srcnn-955 x4 at 128 px >= 50,000 crops/s in fp16, and
   the low-resolution networks >= 5x that.

    python benchmarks/gpu_check.py --fetch-wheels          # here, before: fills .gpu-wheels/
    python benchmarks/gpu_check.py --out "$OUT"            # there (run(..., carry=[".gpu-wheels"]))
    python benchmarks/gpu_check.py --out /tmp/g --allow-cpu --quick   # a dry run on a CPU
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".gpu-wheels"
# What --fetch-wheels downloads: pure-Python pytest and its dependencies, and an OpenCV build
# small enough to travel (the 64 MiB a device call carries; 5.x's wheel is 61 MB).
WHEEL_SPECS = ["pytest", "opencv-python-headless==4.10.0.84"]
ARCHS_X4 = "srcnn-955,srcnn-915s,fsrcnn-s,espcn-s"
LOWRES = ("fsrcnn-s", "espcn-s", "fsrcnn")
GOAL_SRCNN_CROPS_PER_S = 50_000
GOAL_LOWRES_FACTOR = 5.0


def fetch_wheels() -> int:
    WHEELS.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "-d", str(WHEELS)]
    cmd += ["--python-version", "3.12", "--platform", "manylinux2014_x86_64"]
    for spec in WHEEL_SPECS:
        nodeps = ["--no-deps"] if spec.startswith("opencv") else []  # numpy: the image's
        r = subprocess.run([*cmd, *nodeps, spec])
        if r.returncode:
            return r.returncode
    size = sum(p.stat().st_size for p in WHEELS.glob("*.whl"))
    print(f"{WHEELS}: {size / 2**20:.1f} MiB of wheels")
    return 0


class Check:
    def __init__(self, out: Path, budget_s: float) -> None:
        self.out = out
        self.deadline = time.monotonic() + budget_s
        self.result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        # Scratch, not under OUT: what a device call writes there is copied back.
        self.site = Path(tempfile.gettempdir()) / "streamsr-gpu-site"
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(self.site)])
        self.env.setdefault("PYTHONUNBUFFERED", "1")

    def save(self) -> None:
        path = self.out / "gpu_check.json"
        path.write_text(json.dumps(self.result, indent=1) + "\n")

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, name: str, cmd: list[str], limit_s: float, **env: str) -> dict[str, Any]:
        """Run ``cmd`` with at most ``limit_s`` (and what the budget has left); record it."""
        limit = max(1.0, min(limit_s, self.left() - 5))
        t0 = time.monotonic()
        step: dict[str, Any] = {"cmd": " ".join(cmd), "limit_s": round(limit)}
        try:
            r = subprocess.run(
                cmd,
                cwd=ROOT,
                env={**self.env, **env},
                capture_output=True,
                text=True,
                timeout=limit,
            )
            step.update(rc=r.returncode, stdout=r.stdout, stderr_tail=r.stderr[-4000:])
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            step.update(rc=124, timed_out=True, stdout=out)
        step["seconds"] = round(time.monotonic() - t0, 1)
        print(f"[{name}] rc {step['rc']} in {step['seconds']} s", flush=True)
        self.result.setdefault("steps", {})[name] = step
        self.save()
        return step

    def install(self) -> dict[str, str]:
        """pytest and OpenCV from the carried wheels where they do not import already."""
        wanted = {"pytest": "pytest", "cv2": "opencv-python-headless"}
        state = {}
        for module, dist in wanted.items():
            if importlib.util.find_spec(module) is not None:
                state[module] = "present"
                continue
            if not any(WHEELS.glob("*.whl")):
                state[module] = "missing (no .gpu-wheels/)"
                continue
            cmd = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links"]
            cmd += [str(WHEELS), "--target", str(self.site), "--quiet", dist]
            if dist.startswith("opencv"):
                cmd.append("--no-deps")  # numpy comes with the image's torch
            r = subprocess.run(cmd, capture_output=True, text=True)
            state[module] = "installed" if r.returncode == 0 else f"failed: {r.stderr[-300:]}"
        self.result["installed"] = state
        self.save()
        return state


def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cuda_available": torch.cuda.is_available(),
        "extras": {
            m: importlib.util.find_spec(m) is not None
            for m in ("torch_tensorrt", "tensorrt", "onnxruntime", "triton", "cv2", "av")
        },
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["compute_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
        info["memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    return info


def junit_counts(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    counts: dict[str, Any] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors")}
    counts["skipped"] = int(suite.get("skipped", 0))
    failed = []
    for case in suite.iter("testcase"):
        # An Element without children is falsy: test for None, never with ``or``.
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            failed.append(f"{case.get('name')}: {bad.get('message', '')[:300]}")
    counts["failed"] = failed
    return counts


def json_rows(step: dict[str, Any]) -> list[Any]:
    text = step.get("stdout") or ""
    try:
        rows = json.loads(text)
        return rows if isinstance(rows, list) else [rows]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def goals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Issue 10's GPU goals from the x4 rows: the best crops/s of each network at 128 px."""
    best: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.get("device") != "cuda" or r.get("size") != 128 or r.get("scale") != 4:
            continue
        b = best.setdefault(r["arch"], {"wall": 0.0, "kernel": 0.0})
        b["wall"] = max(b["wall"], float(r["crops_per_s"]))
        b["kernel"] = max(b["kernel"], float(r.get("kernel_crops_per_s", 0.0)))
    out: dict[str, Any] = {"best_crops_per_s_128px_x4": best}
    ref = best.get("srcnn-955")
    if ref:
        out["srcnn-955_meets_50k"] = {k: v >= GOAL_SRCNN_CROPS_PER_S for k, v in ref.items()}
        out["lowres_vs_srcnn-955"] = {
            a: {k: round(v / ref[k], 2) if ref[k] else None for k, v in b.items()}
            for a, b in best.items()
            if a in LOWRES
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, help="folder for gpu_check.json (and the junit XML)")
    ap.add_argument("--budget-s", type=float, default=540.0, help="overall time limit")
    ap.add_argument("--fetch-wheels", action="store_true", help="download .gpu-wheels/ and exit")
    ap.add_argument("--allow-cpu", action="store_true", help="dry run where there is no GPU")
    ap.add_argument("--quick", action="store_true", help="small cells (for the dry run)")
    a = ap.parse_args()
    if a.fetch_wheels:
        return fetch_wheels()
    if a.out is None:
        ap.error("--out is required")
    a.out.mkdir(parents=True, exist_ok=True)
    check = Check(a.out, a.budget_s)
    check.result["machine"] = info = machine()
    check.save()
    if not info["cuda_available"] and not a.allow_cpu:
        print("gpu_check: torch sees no CUDA device (use --allow-cpu for a dry run)")
        return 1
    installed = check.install()
    py = sys.executable
    expect = {} if a.allow_cpu else {"STREAMSR_EXPECT_GPU": "1"}
    if info["extras"]["torch_tensorrt"] and not a.allow_cpu:
        expect["STREAMSR_EXPECT_TENSORRT"] = "1"
    if installed.get("pytest") in ("present", "installed"):
        xml = a.out / "gpu_tests.xml"
        cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/enhance/test_gpu.py"]
        check.run("tests", [*cmd, f"--junitxml={xml}"], 240, **expect)
        check.result["tests"] = junit_counts(xml)
        check.save()
    bench = [py, "benchmarks/bench_enhancers.py", "--json", "--min-reps", "3"]
    sizes, batches = ("64,128", "1,8") if a.quick else ("64,128,256", "1,8,32,128")
    secs = "0.1" if a.quick else "0.3"
    steps = {
        "bench_x4": [
            *bench,
            *("--arch", ARCHS_X4, "--scale", "4", "--backends", "cuda,tensorrt"),
            *("--sizes", sizes, "--batches", batches, "--min-seconds", secs),
        ],
        "bench_x4_compile": [
            *bench,
            *("--arch", ARCHS_X4, "--scale", "4", "--backends", "compile"),
            *("--sizes", "128", "--batches", "1,32", "--min-seconds", secs),
        ],
        "bench_x2": [
            *bench,
            *("--arch", "srcnn-955,fsrcnn-s,espcn-s", "--scale", "2", "--backends", "cuda"),
            *("--sizes", "128,256", "--batches", "1,32", "--min-seconds", secs),
        ],
    }
    all_rows: list[Any] = []
    for name, cmd in steps.items():
        step = check.run(name, cmd, 150)
        rows = json_rows(step) if step["rc"] == 0 else []
        step["rows"] = rows
        step.pop("stdout", None)
        all_rows += rows
        check.save()
    check.result["goals_issue_10"] = goals([r for r in all_rows if isinstance(r, dict)])
    check.save()
    if installed.get("cv2") in ("present", "installed"):
        cams = ["1", "2", "4"] if a.quick else ["1", "4", "8", "16", "32"]
        backend = "cpu" if a.allow_cpu and not info["cuda_available"] else "cuda"
        cmd = [py, "benchmarks/bench_shared.py", "--json", "--backend", backend, "--cameras"]
        step = check.run("bench_shared", [*cmd, *cams, "--seconds", "3" if a.quick else "8"], 200)
        step["rows"] = json_rows(step) if step["rc"] == 0 else []
        step.pop("stdout", None)
        check.save()
    check.result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    check.save()
    tests = check.result.get("tests", {})
    bad = tests.get("failures", 0) + tests.get("errors", 0)
    print(json.dumps({"tests": tests, "goals": check.result["goals_issue_10"]}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
