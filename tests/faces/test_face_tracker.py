import numpy as np
import pytest

from streamsr import ConfigError, Faces
from streamsr.faces import FaceTracker
from streamsr.faces._tracker import iou_matrix


def faces(*boxes: tuple[float, float, float, float], score: float = 0.9) -> Faces:
    n = len(boxes)
    return Faces(
        xyxy=np.asarray(boxes, np.float32).reshape(n, 4),
        scores=np.full((n,), score, np.float32),
        track_ids=np.full((n,), -1, np.int64),
    )


def box_at(cx: float, cy: float, size: float = 40.0) -> tuple[float, float, float, float]:
    return (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)


def centres(f: Faces) -> np.ndarray:
    return (f.xyxy[:, :2] + f.xyxy[:, 2:]) / 2


def test_new_tracks_get_increasing_ids_from_1() -> None:
    tracker = FaceTracker()
    out = tracker.update(faces(box_at(100, 100), box_at(300, 100)))
    assert out.track_ids.tolist() == [1, 2]
    assert out.xyxy.dtype == np.float32 and out.track_ids.dtype == np.int64
    out = tracker.update(faces(box_at(100, 100), box_at(300, 100), box_at(500, 300)))
    assert out.track_ids.tolist() == [1, 2, 3]


def test_track_survives_max_missed_rounds_then_ends() -> None:
    tracker = FaceTracker(max_missed=3)
    tracker.update(faces(box_at(100, 100)))
    for _ in range(3):
        assert tracker.update(Faces()).track_ids.tolist() == [1]
    assert len(tracker.update(Faces())) == 0
    # The face comes back after its track ended: a new id.
    assert tracker.update(faces(box_at(100, 100))).track_ids.tolist() == [2]


def test_frames_without_detection_do_not_count_as_misses() -> None:
    tracker = FaceTracker(max_missed=1)
    tracker.update(faces(box_at(100, 100)))
    for _ in range(20):
        assert tracker.predict().track_ids.tolist() == [1]
    assert tracker.update(faces(box_at(101, 100))).track_ids.tolist() == [1]


def test_a_detection_after_a_miss_keeps_its_id() -> None:
    tracker = FaceTracker()
    tracker.update(faces(box_at(100, 100)))
    tracker.update(Faces())
    tracker.update(Faces())
    assert tracker.update(faces(box_at(103, 101))).track_ids.tolist() == [1]


def test_two_faces_keep_their_ids_whatever_the_detection_order() -> None:
    tracker = FaceTracker()
    rng = np.random.default_rng(0)
    for t in range(30):
        a, b = box_at(100 + 3 * t, 200), box_at(400 - 3 * t, 220)
        ordered = [(a, "a"), (b, "b")]
        if rng.random() < 0.5:
            ordered.reverse()
        out = tracker.update(faces(*(box for box, _ in ordered)))
        by_id = dict(zip(out.track_ids.tolist(), centres(out)[:, 0].tolist(), strict=True))
        assert set(by_id) == {1, 2}
        assert abs(by_id[1] - (100 + 3 * t)) < 5  # id 1 is still face a
        assert abs(by_id[2] - (400 - 3 * t)) < 5


def test_a_far_away_detection_starts_a_new_track() -> None:
    tracker = FaceTracker(min_iou=0.3)
    tracker.update(faces(box_at(100, 100)))
    out = tracker.update(faces(box_at(300, 300)))
    assert out.track_ids.tolist() == [1, 2]  # 1 is coasting, 2 is new


def test_reset_forgets_tracks_and_never_reuses_ids() -> None:
    tracker = FaceTracker()
    tracker.update(faces(box_at(100, 100), box_at(300, 100)))
    tracker.reset()
    assert tracker.num_tracks == 0
    assert len(tracker.predict()) == 0
    assert tracker.update(faces(box_at(100, 100))).track_ids.tolist() == [3]


def test_smoothing_reduces_jitter_of_a_noisy_still_box() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 3, (200, 4))
    raw = np.array(box_at(320, 240, 60)) + noise
    tracker = FaceTracker()
    out = np.array([centres(tracker.update(faces(tuple(b))))[0] for b in raw])
    raw_c = (raw[:, :2] + raw[:, 2:]) / 2
    settled = slice(20, None)
    assert out[settled].std(axis=0).max() < 0.7 * raw_c[settled].std(axis=0).min()
    assert np.abs(out[settled].mean(axis=0) - [320, 240]).max() < 1.0


def test_zero_smoothing_passes_detections_through() -> None:
    tracker = FaceTracker(smoothing=0.0)
    for b in [box_at(100, 100), box_at(104, 98, 44), box_at(101, 102, 41), box_at(99, 99)]:
        out = tracker.update(faces(b))
        np.testing.assert_allclose(out.xyxy[0], b, atol=1e-4)


@pytest.mark.parametrize("every", [1, 3, 5])
def test_follows_linear_motion_within_a_few_pixels(every: int) -> None:
    # A 40 px face moving 4 px/frame right and 1 px/frame down, detected every `every` frames
    # (at 5 it moves half its width between detections).
    tracker = FaceTracker()
    errors = []
    for t in range(60):
        truth = np.array([100 + 4 * t, 200 + t], float)
        detected = t % every == 0
        out = tracker.update(faces(box_at(*truth))) if detected else tracker.predict()
        assert out.track_ids.tolist() == [1]
        errors.append(np.abs(centres(out)[0] - truth).max())
    assert max(errors[2 * every :]) < 1.0  # locked on after two detections
    assert max(errors) <= 4 * (every - 1)  # before that, at most the frames since the first


def test_noisy_moving_box_is_followed_without_lag() -> None:
    rng = np.random.default_rng(3)
    tracker = FaceTracker()
    errors = []
    for t in range(120):
        truth = np.array([100 + 3 * t, 240 - t], float)
        noisy = truth + rng.normal(0, 2, 2)
        errors.append(centres(tracker.update(faces(box_at(*noisy))))[0] - truth)
    mean_error = np.mean(errors[20:], axis=0)
    assert np.abs(mean_error).max() < 0.5  # no steady-state lag behind the motion
    assert np.std(errors[20:], axis=0).max() < 2.0 * 0.7  # and less noise than the input


def test_predict_extrapolates_velocity_or_holds_still() -> None:
    moving, still = FaceTracker(), FaceTracker(extrapolate=False)
    for t in range(30):
        for tracker in (moving, still):
            tracker.update(faces(box_at(100 + 5 * t, 100)))
    last_moving = centres(moving.predict())[0, 0]
    last_still = centres(still.predict())[0, 0]
    assert abs(last_moving - (100 + 5 * 30)) < 1.0
    assert abs(centres(still.predict())[0, 0] - last_still) == 0.0


def test_iou_matrix_known_values() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(iou_matrix(a, b)[0], [1.0, 50 / 150, 0.0])
    assert iou_matrix(a, b[:0]).shape == (2, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_missed": -1}, r"max_missed must be an int ≥ 0"),
        ({"max_missed": 2.0}, r"max_missed"),
        ({"min_iou": 0.0}, r"min_iou must be a number in \(0, 1\]"),
        ({"smoothing": 1.0}, r"smoothing must be a number in \[0, 1\)"),
        ({"extrapolate": "yes"}, r"extrapolate must be True or False"),
    ],
)
def test_invalid_options_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        FaceTracker(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ConfigError)
