"""The ``streamsr`` parser and ``main``: one-line errors, exit codes."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from streamsr._errors import StreamSRError
from streamsr.cli._batch import add_batch
from streamsr.cli._common import EXIT_ERROR, EXIT_INTERRUPTED
from streamsr.cli._enhance import add_enhance, add_run
from streamsr.cli._eval import add_eval
from streamsr.cli._serve import add_serve
from streamsr.cli._train import add_export, add_train

log = logging.getLogger("streamsr")


_ADDERS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_enhance,
    add_batch,
    add_serve,
    add_train,
    add_eval,
    add_export,
    add_run,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamsr", description="Enhance the faces in live and recorded video."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(sub)
    return parser


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM stops cleanly, as Ctrl-C does
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
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
