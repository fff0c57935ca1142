"""The compose stage fits every frame to the size the outputs were opened with; the face stage
crops the faces as its options say."""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np
import pytest

from streamsr._errors import ConfigError
from streamsr._frame import Faces, Frame
from streamsr.compose import ComposeOptions
from streamsr.faces import CROP_ENLARGE, FaceOptions
from streamsr.runtime._metrics import Metrics
from streamsr.runtime._stages import ComposeStage, FaceStage, Work


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


class _OneFace:
    """A detector that finds one 40 x 50 px face at the same place in every frame."""

    def detect(self, rgb24: np.ndarray, timestamp_ms: int) -> Faces:
        box = np.array([[100, 60, 140, 110]], np.float32)
        return Faces(box, np.ones(1, np.float32), np.full(1, -1, np.int64))


@pytest.mark.parametrize("enlarge", [1.0, 1.3, CROP_ENLARGE])
def test_the_face_stage_crops_the_face_box_enlarged_as_its_options_say(enlarge: float) -> None:
    stage = FaceStage(_OneFace(), FaceOptions(crop_enlarge=enlarge), Metrics())
    for i in range(3):  # detected, then tracked
        frame = Frame(np.zeros((240, 320, 3), np.uint8), i, Fraction(1, 30), i)
        faces = stage.detect(Work(frame=frame, faces=Faces(), t_decoded=0.0)).faces
        assert faces.crop_xyxy is not None and len(faces) == 1
        x0, y0, x1, y1 = faces.crop_xyxy[0].tolist()
        assert x1 - x0 == y1 - y0 == round(50 * enlarge)  # square on the longer side
        assert abs((x0 + x1) / 2 - 120) <= 1 and abs((y0 + y1) / 2 - 85) <= 1


def test_crop_enlarge_must_be_between_1_and_3() -> None:
    with pytest.raises(ConfigError, match=r"crop_enlarge must be a number in \[1, 3\]"):
        FaceOptions(crop_enlarge=0.9)
