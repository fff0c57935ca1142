"""``streamsr batch``: many files through the offline pipeline, resumable, on a local pool.

Each file runs in a worker process (the network and detector stay loaded between files) as
one offline :class:`~streamsr.runtime.Pipeline`, so every frame and the audio are kept. The
output is written under a temporary name beside its final place and renamed when complete;
a JSON-lines journal in the output folder records every start and end (status, input size
and modification time, the options' hash, frames, faces, seconds, the error). A rerun skips
what is done with the same options and input, and redoes what failed, was cut off, or was
done with other options. A worker that dies takes only its file with it: the file is
recorded as failed, retried up to ``retries`` times, and a fresh worker takes its place.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import json
import logging
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from streamsr._errors import ConfigError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset(
    [
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".ts",
        ".m2ts",
        ".mts",
        ".mpg",
        ".mpeg",
        ".flv",
        ".wmv",
        ".3gp",
        ".y4m",
    ]
)
KEEP_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv"})
"""Containers the outputs keep; other inputs' outputs are Matroska (.mkv)."""
JOURNAL = "streamsr-batch.jsonl"
MANIFEST_SUFFIXES = frozenset({".txt", ".csv", ".lst"})


@dataclass(frozen=True, slots=True)
class Job:
    input: Path
    output: Path

    @property
    def partial(self) -> Path:
        """Where the output is written until it is complete (same folder, same container)."""
        return self.output.with_name(f".{self.output.stem}.partial{self.output.suffix}")


def _output_name(rel: Path) -> Path:
    return rel if rel.suffix.lower() in KEEP_SUFFIXES else rel.with_suffix(".mkv")


def _manifest(path: Path) -> list[Path]:
    rows: list[Path] = []
    with path.open(newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if row[0].strip().lower() == "path" and not rows:
                continue  # a CSV header
            p = Path(row[0].strip())
            rows.append(p if p.is_absolute() else path.parent / p)
    return rows


def discover(inputs: Sequence[str | Path], out_dir: Path, *, glob: str | None = None) -> list[Job]:
    """The jobs for ``inputs`` (files, folders searched recursively by video extension or
    ``glob``, or manifests of paths); a folder's output tree mirrors it under ``out_dir``."""
    out_dir = out_dir.resolve()
    jobs: dict[Path, Job] = {}
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise ConfigError(f"batch input not found: {p}")
        if p.is_dir():
            root = p.resolve()
            if out_dir == root or root in out_dir.parents:
                raise ConfigError(
                    f"the output folder {out_dir} is inside the input folder {root}: choose "
                    "one outside it (outputs would be read back as inputs)"
                )
            found = sorted(
                f
                for f in (root.rglob(glob) if glob else root.rglob("*"))
                if f.is_file()
                and (glob or f.suffix.lower() in VIDEO_SUFFIXES)
                and not f.name.startswith(".")
            )
            if not found:
                what = f"matching {glob!r}" if glob else "with a video extension"
                raise ConfigError(f"no video files {what} in {p}")
            for f in found:
                jobs.setdefault(f, Job(f, out_dir / _output_name(f.relative_to(root))))
        elif p.suffix.lower() in MANIFEST_SUFFIXES:
            listed = _manifest(p)
            if not listed:
                raise ConfigError(f"the manifest {p} lists no file")
            for f in listed:
                f = f.resolve()
                jobs.setdefault(f, Job(f, out_dir / _output_name(Path(f.name))))
        else:
            f = p.resolve()
            jobs.setdefault(f, Job(f, out_dir / _output_name(Path(f.name))))
    seen: dict[Path, Path] = {}
    for j in jobs.values():
        if j.output in seen:
            raise ConfigError(
                f"{seen[j.output]} and {j.input} would both be written to {j.output}: give "
                "their folder instead of the files, so that the output tree mirrors it"
            )
        seen[j.output] = j.input
    return list(jobs.values())


def options_hash(keywords: dict[str, Any]) -> str:
    """A short hash of the options every file runs with (and of the streamsr version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("streamsr")
    except PackageNotFoundError:  # run from a source tree
        v = "unknown"
    blob = json.dumps({"v": v, **keywords}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def input_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


class Journal:
    """Append-only JSON lines, one per event, flushed and synced as written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def last(self) -> dict[str, dict[str, Any]]:
        """The latest record per input (a cut-off last line is ignored)."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        for line in self.path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "input" in rec:
                out[str(rec["input"])] = rec
        return out

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    frames: int = 0
    faces: int = 0
    video_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def speed_x_realtime(self) -> float:
        return self.video_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def table(self) -> str:
        rows = [
            ("done", str(self.done)),
            ("skipped (already done)", str(self.skipped)),
            ("failed", str(self.failed)),
            ("frames", str(self.frames)),
            ("faces enhanced", str(self.faces)),
            ("hours of video", f"{self.video_seconds / 3600:.3f}"),
            ("wall time", f"{self.wall_seconds:.1f} s"),
            ("speed", f"{self.speed_x_realtime:.2f} x real time"),
        ]
        return "\n".join(f"{k:<24}{v:>14}" for k, v in rows)


def plan(
    jobs: Iterable[Job], journal: Journal, opts_hash: str, *, force: bool
) -> tuple[list[Job], int]:
    """The jobs still to run, and how many are skipped as done with these options."""
    last = journal.last()
    todo, skipped, other_options = [], 0, 0
    for j in jobs:
        rec = last.get(str(j.input))
        same_input = rec is not None and all(rec.get(k) == v for k, v in input_key(j.input).items())
        if not force and rec and rec.get("status") == "done" and same_input:
            if rec.get("options") == opts_hash and j.output.exists():
                skipped += 1
                continue
            if rec.get("options") != opts_hash:
                other_options += 1
        todo.append(j)
    if other_options:
        log.warning(
            "batch: the journal holds %d file(s) done with other options: redoing them",
            other_options,
        )
    return todo, skipped


_LOADED: dict[str, Any] = {}
"""The enhancer a worker process keeps between files (local workers and Ray's alike)."""


def run_one(job: Job, keywords: dict[str, Any]) -> dict[str, Any]:
    """Run one file through the offline pipeline into its partial name, then rename it; the
    journal's result record. A failure of the file is a ``failed`` record, never raised."""
    from streamsr._errors import StreamSRError
    from streamsr.runtime._pipeline import Pipeline

    t = time.monotonic()
    enhancer = _LOADED.get("enhancer")
    try:
        job.partial.unlink(missing_ok=True)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        reset = getattr(enhancer, "reset", None)
        if reset is not None:
            reset()  # variant auto: every file is measured on its own
        if "options" in keywords:  # a pipeline file: its options, its first output's settings
            spec = dataclasses.replace(
                keywords["output"], location=str(job.partial), overwrite=True
            )
            p = Pipeline(job.input, [spec], options=keywords["options"], enhancer=enhancer)
        else:
            p = Pipeline(job.input, job.partial, **keywords, overwrite=True, enhancer=enhancer)
        with p:
            _LOADED["enhancer"] = p.enhancer  # loaded once per worker process
            rate = getattr(p.source, "average_rate", None)  # read before run() closes it
            st = p.run()
        os.replace(job.partial, job.output)
        return {
            "status": "done",
            "frames": st.frames_out,
            "faces": st.faces_enhanced,
            "video_seconds": round(st.frames_out / float(rate), 3) if rate else 0.0,
            "seconds": round(time.monotonic() - t, 3),
            "variant": st.variant,
            "host": os.uname().nodename,
        }
    except Exception as exc:  # any failure of one file is that file's, recorded
        job.partial.unlink(missing_ok=True)
        known = isinstance(exc, StreamSRError | OSError)
        text = str(exc).splitlines()[0] if str(exc) else ""
        return {
            "status": "failed",
            "error": text if known and text else f"{type(exc).__name__}: {exc}",
            "seconds": round(time.monotonic() - t, 3),
        }


def _worker(conn: Connection, keywords: dict[str, Any], threads: int) -> None:
    """A local worker process: run each job it is sent, answer with its result record."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver stops the batch, not Ctrl-C here
    import torch

    torch.set_num_threads(threads)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(run_one(job, keywords))


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    job: Job | None = None
    started: float = 0.0


class Batch:
    """Run ``jobs`` on ``workers`` local processes, journaled in ``out_dir``."""

    def __init__(
        self,
        jobs: Sequence[Job],
        out_dir: Path,
        *,
        keywords: dict[str, Any],
        workers: int = 1,
        retries: int = 1,
        force: bool = False,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        if retries < 0:
            raise ConfigError(f"--retries must be 0 or more, got {retries}")
        self.out_dir = out_dir
        self.keywords = keywords
        self.workers = workers
        self.retries = retries
        self.threads = max(1, (os.cpu_count() or 1) // workers)
        self.hash = options_hash(keywords)
        _check_writable(out_dir)
        self.journal = Journal(out_dir / JOURNAL)
        self.todo, skipped = plan(jobs, self.journal, self.hash, force=force)
        self.summary = Summary(skipped=skipped)
        self.total = len(jobs)
        self._slots: list[_Slot] = []
        self._t0 = time.monotonic()  # when run() started (frames/s on the progress bar)

    def busy(self) -> list[tuple[int, Job]]:
        """(worker pid, its file) for each worker on a file now."""
        return [(s.proc.pid, s.job) for s in list(self._slots) if s.job is not None]

    def _spawn(self, ctx: Any) -> _Slot:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, self.keywords, self.threads), daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def _record(self, job: Job, **fields: Any) -> None:
        self.journal.write(
            {
                "input": str(job.input),
                "output": str(job.output),
                **input_key(job.input),
                "options": self.hash,
                "time": round(time.time(), 3),
                **fields,
            }
        )

    def run(self, *, progress: bool = True) -> Summary:
        t0 = self._t0 = time.monotonic()
        queue = [(j, 0) for j in self.todo]  # (job, attempts so far)
        attempts: dict[Path, int] = {}
        if not queue:
            self.summary.wall_seconds = time.monotonic() - t0
            return self.summary
        ctx = mp.get_context("spawn")
        slots = self._slots = [self._spawn(ctx) for _ in range(min(self.workers, len(queue)))]
        bar = _progress(self.total, self.summary.skipped, enabled=progress)
        try:
            while queue or any(s.job for s in slots):
                for s in slots:
                    if s.job is None and queue:
                        job, n = queue.pop(0)
                        attempts[job.input] = n + 1
                        s.job, s.started = job, time.monotonic()
                        job.output.parent.mkdir(parents=True, exist_ok=True)
                        self._record(job, status="started", attempt=n + 1)
                        s.conn.send(job)
                busy = [s for s in slots if s.job is not None]
                ready = wait([s.conn for s in busy] + [s.proc.sentinel for s in busy])
                for s in busy:
                    running = s.job
                    assert running is not None
                    result: dict[str, Any] | None = None
                    if s.conn in ready:
                        try:
                            result = s.conn.recv()
                        except EOFError:
                            result = None
                    elif s.proc.sentinel not in ready:
                        continue
                    if result is None:  # the worker died with the file
                        code = s.proc.exitcode
                        result = {
                            "status": "failed",
                            "error": f"worker process died (exit {code}) while on this file",
                            "seconds": round(time.monotonic() - s.started, 3),
                        }
                        running.partial.unlink(missing_ok=True)
                        s.conn.close()
                        replacement = self._spawn(ctx)
                        s.proc, s.conn = replacement.proc, replacement.conn
                    s.job = None
                    self._finish(running, result, attempts[running.input], queue, bar)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            for s in slots:
                if s.job is not None:
                    log.warning("batch: interrupted; %s will be redone next time", s.job.input)
        finally:
            for s in slots:
                if s.job is None and s.proc.is_alive():
                    with contextlib.suppress(OSError):
                        s.conn.send(None)
            for s in slots:
                s.proc.join(timeout=5 if s.job is None else 0)
                if s.proc.is_alive():
                    s.proc.terminate()
                    s.proc.join(timeout=5)
                if s.job is not None:
                    s.job.partial.unlink(missing_ok=True)
            bar.close()
        self.summary.wall_seconds = time.monotonic() - t0
        return self.summary

    def _finish(
        self,
        job: Job,
        result: dict[str, Any],
        attempt: int,
        queue: list[tuple[Job, int]],
        bar: Any,
    ) -> None:
        self._record(job, attempt=attempt, **result)
        s = self.summary
        if result["status"] == "done":
            s.done += 1
            s.frames += int(result.get("frames", 0))
            s.faces += int(result.get("faces", 0))
            s.video_seconds += float(result.get("video_seconds", 0.0))
        elif attempt <= self.retries:
            log.warning("batch: retrying (attempt %d failed): %s", attempt, result.get("error"))
            queue.append((job, attempt))
            return
        else:
            s.failed += 1
            s.failures.append((str(job.input), str(result.get("error"))))
            log.error("batch: failed after %d attempt(s): %s", attempt, result.get("error"))
        bar.update(1)
        elapsed = max(1e-6, time.monotonic() - self._t0)
        bar.set_postfix_str(f"{s.frames / elapsed:.1f} frames/s")


def _check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".streamsr-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"output folder {out_dir} is not writable: {exc.strerror or exc}"
        ) from None


def _progress(total: int, skipped: int, *, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=skipped,
        unit="file",
        desc="batch",
        dynamic_ncols=True,
        disable=not enabled,
    )


# -- Ray -------------------------------------------------------------------------------------

RAY_EXTRA = "pip install 'streamsr[ray]'"


def _check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """A TCP connect to a Ray address first: ray.init waits minutes on a dead one."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"--ray: expected auto or HOST:PORT (or ray://HOST:PORT), got {address!r}"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; nothing processed"
        ) from None


def init_ray(address: str) -> Any:
    """Import Ray (the extra) and connect: ``auto`` joins a running cluster (``RAY_ADDRESS``,
    or ``ray start`` on this machine) or else starts one here; otherwise the address given."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs the ray extra: {RAY_EXTRA}") from None
    target = os.environ.get("RAY_ADDRESS") if address == "auto" else address
    if target:
        _check_reachable(target)
    if ray.is_initialized():
        return ray
    kw: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
    if address == "auto":
        try:
            ray.init(address="auto", **kw)
        except (ConnectionError, RuntimeError):
            ray.init(**kw)  # no cluster running: a local one, with this machine's cores
    else:
        ray.init(address=address, **kw)
    return ray


def _ray_run_one(job: Job, keywords: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)  # one CPU per task: Ray runs as many files as it has CPUs
    return run_one(job, keywords)


def run_on_ray(batch: Batch, address: str, *, progress: bool = True) -> Summary:
    """:meth:`Batch.run` on a Ray cluster: one task per file (a GPU each when the cluster
    has GPUs), worker and node failures retried by Ray (``max_retries``), failures of the file
    itself retried by the journal as on the local pool. Outputs go to ``batch.out_dir``,
    which must be storage every node shares."""
    ray = init_ray(address)
    t0 = batch._t0 = time.monotonic()
    gpus = ray.cluster_resources().get("GPU", 0)
    task = ray.remote(_ray_run_one).options(
        num_cpus=1, num_gpus=1 if gpus else 0, max_retries=max(1, batch.retries)
    )
    pending: dict[Any, tuple[Job, int]] = {}

    def submit(job: Job, attempt: int) -> None:
        batch._record(job, status="started", attempt=attempt)
        pending[task.remote(job, batch.keywords)] = (job, attempt)

    for job in batch.todo:
        submit(job, 1)
    bar = _progress(batch.total, batch.summary.skipped, enabled=progress)
    queue: list[tuple[Job, int]] = []
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job, attempt = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # Ray gave up: the worker or node kept failing
                    job.partial.unlink(missing_ok=True)
                    first = str(exc).splitlines()[0] if str(exc) else ""
                    result = {"status": "failed", "error": f"Ray: {type(exc).__name__}: {first}"}
                    attempt = batch.retries + 1  # Ray already retried it: not queued again
                batch._finish(job, result, attempt, queue, bar)
                while queue:
                    j, n = queue.pop(0)
                    submit(j, n + 1)
    except KeyboardInterrupt:
        batch.summary.interrupted = True
        for ref, (job, _) in pending.items():
            ray.cancel(ref, force=True)
            log.warning("batch: interrupted; %s will be redone next time", job.input)
    finally:
        bar.close()
    batch.summary.wall_seconds = time.monotonic() - t0
    return batch.summary
