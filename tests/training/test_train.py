import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from streamsr import ConfigError, DatasetError, WeightsError
from streamsr.enhance._srcnn import build_srcnn
from streamsr.enhance._weights import load_weights_file
from streamsr.training import TrainOptions, train
from streamsr.training._dataset import ImageSet, PatchBatches, find_images, load_images


def _faces_folder(tmp_path: Path, n: int = 12) -> Path:
    """Small synthetic 'faces': smooth blobs and edges with texture (enough to learn from)."""
    d = tmp_path / "faces" / "sub"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = np.full((96, 96, 3), rng.integers(60, 200, 3), np.uint8)
        for _ in range(6):
            c = tuple(int(v) for v in rng.integers(0, 256, 3))
            cv2.circle(
                img, tuple(int(v) for v in rng.integers(10, 86, 2)), int(rng.integers(5, 30)), c, -1
            )
        for _ in range(3):
            c = tuple(int(v) for v in rng.integers(0, 256, 3))
            cv2.putText(
                img,
                "face",
                tuple(int(v) for v in rng.integers(0, 70, 2)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.8,
                c,
                2,
            )
        ext = ".png" if i % 2 else ".jpg"
        cv2.imwrite(str(d / f"img{i}{ext}"), img)
    return tmp_path / "faces"


def test_a_few_training_steps_lower_the_loss(tmp_path: Path) -> None:
    imgs = load_images(find_images([_faces_folder(tmp_path)]), min_side=72)
    batches = PatchBatches(
        imgs, scale=2, patch=72, batch=8, mode="clean", clean_fraction=1.0, seed=0
    )
    rng = np.random.default_rng(0)
    fixed = [batches.make_batch(rng) for _ in range(2)]
    torch.manual_seed(0)
    m = build_srcnn("srcnn-915")
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    c = m.valid_crop

    def loss() -> float:
        with torch.no_grad():
            return float(
                sum(torch.mean((m.forward_valid(x) - y[..., c:-c, c:-c]) ** 2) for x, y in fixed)
            )

    before = loss()
    for i in range(60):
        x, y = fixed[i % 2]
        lv = torch.mean((m.forward_valid(x) - y[..., c:-c, c:-c]) ** 2)
        opt.zero_grad()
        lv.backward()
        opt.step()
    assert loss() < 0.97 * before  # deterministic run: about 0.95


@pytest.mark.parametrize("mode, scale", [("realistic", 3), ("video", 2)])
def test_degraded_batches_differ_from_clean_and_are_seeded(
    tmp_path: Path, mode: str, scale: int
) -> None:
    """Realistic (blur, JPEG) and video (blur, noise, H.264) batches: the same seed gives the
    same batch, and it is not the clean one."""
    imgs: ImageSet = load_images(find_images([_faces_folder(tmp_path)]), min_side=72)
    kw = {"scale": scale, "patch": 72, "batch": 6, "seed": 0}

    def batch(m: str, clean_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
        return PatchBatches(imgs, mode=m, clean_fraction=clean_fraction, **kw).make_batch(
            np.random.default_rng(5)
        )

    a, b, c = batch(mode, 0.0), batch(mode, 0.0), batch("clean", 1.0)
    torch.testing.assert_close(a[0], b[0])
    assert a[0].shape == (6, 1, 72, 72) and a[1].shape == (6, 1, 72, 72)
    assert a[0].dtype == torch.float32
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_h264_inter_share_picks_the_coding_of_the_h264_batches(
    tmp_path: Path, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``h264_inter``: the share of the batches whose H.264 samples are the last frame of a
    short moving clip (``frames > 1``) instead of one intra frame."""
    import streamsr.training._dataset as dataset

    calls: list[int] = []
    real = dataset.h264

    def spy(images, crf, **kw):  # type: ignore[no-untyped-def]
        calls.append(int(kw.get("frames", 1)))
        return real(images, crf, **kw)

    monkeypatch.setattr(dataset, "h264", spy)
    imgs: ImageSet = load_images(find_images([_faces_folder(tmp_path)]), min_side=72)
    pb = PatchBatches(
        imgs, scale=2, patch=72, batch=8, mode="video", clean_fraction=0.0, seed=0, h264_inter=share
    )
    rng = np.random.default_rng(1)
    for _ in range(12):
        pb.make_batch(rng)
    assert calls, "no batch drew H.264"
    assert all((f > 1) == (share == 1.0) for f in calls), calls
    assert all(1 <= f <= 8 for f in calls)


def test_h264_inter_off_draws_nothing_so_seeded_batches_are_unchanged(tmp_path: Path) -> None:
    imgs: ImageSet = load_images(find_images([_faces_folder(tmp_path)]), min_side=72)
    pb = PatchBatches(imgs, scale=2, patch=72, batch=4, mode="video", clean_fraction=0.0, seed=0)
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    lrs = [np.full((36, 36, 3), 120, np.uint8)] * 4
    assert len(pb._h264(lrs, 30, rng)) == 4
    assert rng.bit_generator.state == before


def test_train_is_deterministic_with_a_seed_and_resumes(tmp_path: Path) -> None:
    data = _faces_folder(tmp_path)
    val = tmp_path / "val"
    shutil.copytree(data, val)
    runs = []
    for k in range(2):
        out = tmp_path / f"w{k}.pt"
        meta = train(
            TrainOptions(
                data=(str(data),),
                val=(str(val),),
                scale=2,
                out=out,
                steps=6,
                batch=4,
                arch="srcnn-315",
                seed=3,
            )
        )
        runs.append((load_weights_file(out)[0], meta))
    for key, t in runs[0][0].items():
        torch.testing.assert_close(t, runs[1][0][key])
    assert runs[0][1]["steps"] == 6 and runs[0][1]["arch"] == "srcnn-315"
    assert json.loads((tmp_path / "w0.json").read_text())["scale"] == 2
    ck = tmp_path / "w0.pt.ckpt"
    assert ck.is_file()
    meta = train(
        TrainOptions(
            data=(str(data),),
            val=(str(val),),
            scale=2,
            out=tmp_path / "w2.pt",
            steps=9,
            batch=4,
            arch="srcnn-315",
            seed=3,
            resume=ck,
        )
    )
    assert meta["steps"] == 9


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scale": 5, "steps": 1}, ConfigError, "scale"),
        ({"scale": 2}, ConfigError, "--minutes or --steps"),
        ({"scale": 2, "steps": 1, "arch": "srcnn-000"}, ConfigError, "srcnn-955"),
    ],
)
def test_bad_train_options(tmp_path: Path, kwargs, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        TrainOptions(data=(str(tmp_path),), out=tmp_path / "w.pt", **kwargs)


def test_unreadable_images_are_skipped_and_counted(tmp_path: Path) -> None:
    data = _faces_folder(tmp_path, n=4)
    (data / "sub" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    s = load_images(find_images([data]), min_side=72)
    assert len(s.images) == 4 and s.unreadable == 1


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(
    "arch", ["srcnn-955", "srcnn-315", "fsrcnn-s", "fsrcnn", "espcn-s", "espcn"]
)
def test_patches_are_multiples_of_the_scale_and_keep_enough_output(arch: str, scale: int) -> None:
    from streamsr.training._train import MIN_VALID_PX, PATCH, patch_size

    m = build_srcnn(arch, scale=scale)
    p = patch_size(m, scale)
    assert p % scale == 0 and p >= PATCH
    assert p - 2 * m.valid_crop >= MIN_VALID_PX
    if arch.startswith("srcnn"):
        assert p == PATCH  # the SRCNNs train exactly as before


def test_fsrcnn_trains_and_refuses_init_weights_of_another_scale(tmp_path: Path) -> None:
    data = _faces_folder(tmp_path)
    val = tmp_path / "val"
    shutil.copytree(data, val)
    kw = {"data": (str(data),), "val": (str(val),), "batch": 4, "arch": "fsrcnn-s", "seed": 1}
    out = tmp_path / "x2.pt"
    meta = train(TrainOptions(scale=2, out=out, steps=4, **kw))  # type: ignore[arg-type]
    assert meta["arch"] == "fsrcnn-s" and meta["scale"] == 2 and meta["patch"] == 72
    sd, _ = load_weights_file(out)
    assert sd["upsample.weight"].shape[0] == 4  # scale**2 output planes
    with pytest.raises(WeightsError, match=r"fsrcnn-s x2, not x4"):
        train(TrainOptions(scale=4, out=tmp_path / "x4.pt", steps=1, init=out, **kw))  # type: ignore[arg-type]


def test_missing_and_empty_data_folders(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        find_images([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        find_images([tmp_path / "empty"])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamsr", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            [
                "train",
                "--data",
                "{tmp}/nope",
                "--scale",
                "2",
                "--steps",
                "1",
                "--out",
                "{tmp}/w.pt",
            ],
            "data folder not found",
        ),
        (
            [
                "train",
                "--data",
                "{tmp}/empty",
                "--scale",
                "2",
                "--steps",
                "1",
                "--out",
                "{tmp}/w.pt",
            ],
            "no images",
        ),
        (
            ["train", "--data", "{tmp}", "--scale", "5", "--steps", "1", "--out", "{tmp}/w.pt"],
            "invalid choice",
        ),
        (
            [
                "train",
                "--data",
                "{tmp}",
                "--scale",
                "2",
                "--arch",
                "srcnn-1",
                "--steps",
                "1",
                "--out",
                "{tmp}/w.pt",
            ],
            "invalid choice",
        ),
        (["eval", "--data", "{tmp}/nope", "--scale", "2"], "data folder not found"),
        (
            ["eval", "--data", "{tmp}/empty", "--scale", "2", "--weights", "{tmp}/missing.pt"],
            "weights file not found",
        ),
    ],
)
def test_cli_errors_are_one_line_and_non_zero(tmp_path: Path, args: list[str], match: str) -> None:
    (tmp_path / "empty").mkdir()
    r = _cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert r.returncode != 0
    assert match in r.stderr
    assert "Traceback" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if "error" in ln]) == 1


def test_cli_train_writes_weights(tmp_path: Path) -> None:
    data = _faces_folder(tmp_path)
    r = _cli(
        "train",
        "--data",
        str(data),
        "--val",
        str(data),
        "--scale",
        "3",
        "--arch",
        "srcnn-315",
        "--steps",
        "3",
        "--out",
        str(tmp_path / "w.pt"),
    )
    assert r.returncode == 0, r.stderr
    assert "step 3" in r.stderr and "val PSNR-Y" in r.stderr
    assert load_weights_file(tmp_path / "w.pt")[1]["scale"] == 3


def test_folder_weights_shift_the_draws(tmp_path: Path) -> None:
    data = _faces_folder(tmp_path, n=4)
    hq = data / "hq"
    hq.mkdir()
    for f in sorted((data / "sub").iterdir())[:2]:
        shutil.copy(f, hq / f.name)
    paths = find_images([data])
    plain = load_images(paths, min_side=72)
    weighted = load_images(paths, min_side=72, folder_weights={"hq": 3.0})
    in_hq = np.array([p.parent.name == "hq" for p in paths])
    assert np.isclose(plain.weights.sum(), 1) and np.isclose(weighted.weights.sum(), 1)
    assert np.isclose(plain.weights[in_hq].sum(), 2 / 6)
    assert np.isclose(weighted.weights[in_hq].sum(), 6 / 10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clean_fraction": 1.5}, "clean-fraction"),
        ({"h264_inter": -0.1}, "h264-inter"),
        ({"folder_weights": (("hq", 0.0),)}, "W > 0"),
        ({"degrade": "blurry"}, "video"),
    ],
)
def test_bad_mix_options(tmp_path: Path, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=match):
        TrainOptions(data=(str(tmp_path),), out=tmp_path / "w.pt", scale=2, steps=1, **kwargs)
