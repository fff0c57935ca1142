"""The compose stage fits every frame to the size the outputs were opened with."""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np
import pytest

from streamsr._frame import Faces, Frame
from streamsr.compose import ComposeOptions
from streamsr.runtime._metrics import Metrics
from streamsr.runtime._stages import ComposeStage


def test_an_input_that_changes_size_keeps_the_output_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stage = ComposeStage(
        ComposeOptions(temporal=False), scale=2, output_size_wh=(64, 48), metrics=Metrics()
    )
    sizes = [(32, 24), (40, 30), (40, 30), (16, 12)]  # the second size comes twice
    with caplog.at_level(logging.WARNING):
        for i, (w, h) in enumerate(sizes):
            frame = Frame(np.zeros((h, w, 3), np.uint8), i, Fraction(1, 30), i)
            out = stage.compose(frame, Faces(), [])
            assert out.size_wh == (64, 48) and out.pts == i
    warnings = [r for r in caplog.records if "input size changed" in r.getMessage()]
    assert [r.getMessage().split(":")[0] for r in warnings] == [
        "input size changed to 40x30",
        "input size changed to 16x12",
    ]
