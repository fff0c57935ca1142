"""Options of the compose stage, checked at construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streamsr._check import check_bool, check_choice

OutputSize = Literal["scaled", "input"]
OUTPUT_SIZES: tuple[OutputSize, ...] = ("scaled", "input")


@dataclass(frozen=True, slots=True, kw_only=True)
class ComposeOptions:
    """``mark``: outline each enhanced region and label it with its track id. ``temporal``:
    blend the enhancement with the previous frame's where the input did not move (less
    flicker). ``output_size``: ``"scaled"`` (input × scale) or ``"input"`` (faces enhanced,
    then area-averaged back into the input-size frame: a virtual camera keeps its format)."""

    mark: bool = False
    temporal: bool = True
    output_size: OutputSize = "scaled"

    def __post_init__(self) -> None:
        check_bool("mark", self.mark)
        check_bool("temporal", self.temporal)
        check_choice("output_size", self.output_size, OUTPUT_SIZES)
