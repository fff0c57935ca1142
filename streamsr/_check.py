"""Checks for option values, shared by every stage's options: one message shape everywhere.

Each raises :class:`~streamsr.ConfigError` naming the option and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeGuard

from streamsr._errors import ConfigError


def is_int(value: object) -> TypeGuard[int]:
    """An ``int`` that is not a ``bool`` (``True`` is an int to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite ``int`` or ``float`` that is not a ``bool``."""
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """``value`` must be one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}, got {value!r}")


def check_int(name: str, value: Any, lo: int, hi: int, *, none: bool = False) -> None:
    """An integer (not a bool) in ``[lo, hi]``; ``None`` passes when ``none``."""
    if value is None and none:
        return
    if not is_int(value) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


def check_number(name: str, value: Any, lo: float, hi: float, *, none: bool = False) -> None:
    """A finite number (not a bool) in ``[lo, hi]``; ``None`` passes when ``none``."""
    if value is None and none:
        return
    if not is_number(value) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def check_str(name: str, value: Any, *, none: bool = False) -> None:
    if value is None and none:
        return
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
