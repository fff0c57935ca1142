"""The ``streamsr`` command: every sub-command, one-line errors, exit codes."""

from streamsr.cli._main import build_parser, main

__all__ = ["build_parser", "main"]
