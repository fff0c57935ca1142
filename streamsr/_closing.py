"""Context managers for everything that holds a device, a file or a connection."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """``with X(...) as x:`` calls ``x.close()`` when the block is left, also on an exception
    (Ctrl-C included). Subclasses define an idempotent :meth:`close`."""

    def close(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
