"""``streamsr batch INPUTS... -o OUT_DIR``: folders of recordings through the offline pipeline,
resumable (see :mod:`streamsr.runtime._batch`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from streamsr._errors import ConfigError
from streamsr.cli._common import EXIT_ERROR, EXIT_INTERRUPTED
from streamsr.cli._enhance import add_file_flags, keywords_from_args

log = logging.getLogger("streamsr")


def add_batch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="enhance many files (folders, manifests), resumable, on a local pool",
        description="Every file goes through the offline pipeline (every frame and the audio "
        "kept). The output tree mirrors each input folder; a journal in OUT_DIR lets a rerun "
        "skip what is done and redo what failed or was cut off.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="video files, folders (searched recursively by video extension), or manifests "
        "(.txt/.csv: one path per line, relative to the manifest)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    p.add_argument("--glob", metavar="PATTERN", help="in folders, only files matching PATTERN")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1; each gets cores / N threads)",
    )
    p.add_argument(
        "--retries", type=int, default=1, metavar="K", help="retry a failed file K times (1)"
    )
    p.add_argument("--force", action="store_true", help="redo every file, done or not")
    p.add_argument(
        "--pipeline",
        metavar="FILE",
        help="an offline pipeline file (or the name of one in ./pipelines: transcode) for every "
        "file's options and output settings, instead of the flags below",
    )
    p.add_argument(
        "--ray",
        metavar="auto|ADDRESS",
        help="run on a Ray cluster (extra streamsr[ray]): auto joins a running one or starts "
        "one here; ADDRESS: HOST:PORT or ray://HOST:PORT. Outputs go to OUT_DIR, which every "
        "node must share",
    )
    o = add_file_flags(p)
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from streamsr.runtime._batch import Batch, discover, init_ray, run_on_ray
    from streamsr.runtime._options import PipelineOptions

    kw = keywords_from_args(args)
    if args.pipeline is not None:
        kw = _from_pipeline_file(args.pipeline, kw)
    else:
        PipelineOptions.from_keywords(**kw)  # bad values fail here, before any file
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"the output {out_dir} exists and is not a folder")
    if args.ray is not None:
        init_ray(args.ray)  # a missing extra or a dead address fails before any file
    jobs = discover(args.inputs, out_dir, glob=args.glob)
    batch = Batch(
        jobs,
        out_dir,
        keywords=kw,
        workers=args.workers,
        retries=args.retries,
        force=args.force,
    )
    where = (
        f"Ray ({args.ray})"
        if args.ray is not None
        else f"{batch.workers} worker(s) x {batch.threads} thread(s)"
    )
    log.info(
        "batch: %d file(s), %d to do, %d already done; %s; journal %s",
        batch.total,
        len(batch.todo),
        batch.summary.skipped,
        where,
        batch.journal.path,
    )
    if args.ray is not None:
        summary = run_on_ray(batch, args.ray, progress=not args.no_progress)
    else:
        summary = batch.run(progress=not args.no_progress)
    print(summary.table(), file=sys.stderr)
    for path, error in summary.failures:
        print(
            f"streamsr: failed: {error if path in error else f'{path}: {error}'}", file=sys.stderr
        )
    if summary.interrupted:
        print(
            "streamsr: interrupted; finished files are kept, the rest is redone next time",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_ERROR if summary.failed else 0


def _from_pipeline_file(name: str, flags: dict[str, Any]) -> dict[str, Any]:
    from streamsr.cli._enhance import resolve_pipeline_path
    from streamsr.runtime._config import load_pipeline

    if flags:
        given = ", ".join(sorted(flags))
        raise ConfigError(f"--pipeline sets every option; leave out the other flags ({given})")
    cfg = load_pipeline(resolve_pipeline_path(name))
    if cfg.mode != "offline":
        raise ConfigError(f"--pipeline {cfg.path}: batch runs files offline; it is mode = 'live'")
    return {"options": cfg.options, "output": cfg.outputs[0]}
