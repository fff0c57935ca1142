"""``streamsr eval``: identity beside PSNR/SSIM (dlib's embedding, a real recognizer on real
faces), ``--variant auto`` per image, ``--holdout``, and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from _media import shared

from streamsr._errors import ConfigError
from streamsr.training._identity import bootstrap_ci, identification_report, identity_report


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamsr", *args], capture_output=True, text=True, timeout=600
    )


def _errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("streamsr: error")]


def test_identity_report_on_known_embeddings() -> None:
    rng = np.random.default_rng(0)
    orig = rng.normal(size=(60, 128))
    orig /= np.linalg.norm(orig, axis=1, keepdims=True)
    near = orig + rng.normal(scale=0.02, size=orig.shape)
    far = orig + rng.normal(scale=0.2, size=orig.shape)
    r = identity_report(orig, {"bicubic": far, "model": near})
    assert r["model"]["distance"] < r["bicubic"]["distance"]
    lo, hi = r["model"]["diff_ci95"]
    assert lo <= r["model"]["diff_vs_bicubic"] <= hi < 0  # closer, and the interval says so
    assert r["model"]["rank1"] == 1.0 and "diff_vs_bicubic" not in r["bicubic"]
    swapped = identity_report(orig, {"bicubic": near, "model": far})
    assert swapped["model"]["diff_ci95"][0] > 0


def test_identification_against_other_photos_on_known_embeddings() -> None:
    rng = np.random.default_rng(2)
    people = [f"p{i}" for i in range(50)]
    centre = rng.normal(size=(50, 128))
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    gallery = centre + rng.normal(scale=0.03, size=centre.shape)  # one photo per person
    who = rng.permutation(50)[:30]  # 30 people have a second photo
    truth = centre[who] + rng.normal(scale=0.03, size=(30, 128))
    # bicubic lands halfway to someone else for the first ten probes, the model on the truth
    blurred = truth.copy()
    blurred[:10] = 0.4 * truth[:10] + 0.6 * centre[(who[:10] + 1) % 50]
    probes = {"bicubic": blurred, "model": truth, "original": truth}
    r = identification_report(gallery, people, probes, [people[i] for i in who])
    assert r["model"]["rank1"] == 1.0 and r["bicubic"]["rank1"] == pytest.approx(20 / 30, abs=1e-4)
    assert r["model"]["rank1_diff"] == pytest.approx(10 / 30, abs=1e-4)
    lo, hi = r["model"]["rank1_diff_ci95"]
    assert 0 < lo <= r["model"]["rank1_diff"] <= hi
    assert r["model"]["diff_ci95"][1] < 0 and r["model"]["verified"] == 1.0
    assert "rank1_diff" not in r["bicubic"]
    with pytest.raises(ValueError, match="no gallery photo"):
        identification_report(gallery, people, probes, ["nobody"] * 30)
    with pytest.raises(ValueError, match="distinct"):
        identification_report(gallery, ["same"] * 50, probes, ["same"] * 30)


def test_bootstrap_ci_covers_the_mean_and_shrinks_with_more_data() -> None:
    rng = np.random.default_rng(1)
    small, big = rng.normal(1.0, 1.0, 20), rng.normal(1.0, 1.0, 2000)
    lo_s, hi_s = bootstrap_ci(small)
    lo_b, hi_b = bootstrap_ci(big)
    assert lo_s <= small.mean() <= hi_s and lo_b <= big.mean() <= hi_b
    assert (hi_b - lo_b) < (hi_s - lo_s)


def test_identity_without_the_extra_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from streamsr.training import _identity

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    with pytest.raises(ConfigError, match=r"streamsr\[identity\]"):
        _identity.IdentityModel()


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight real sharp faces (CelebA-HQ, 256 px), copied into a folder of their own."""
    src = sorted(shared("faces", "train", "hq").glob("*.jpg"))[:8]
    d = tmp_path_factory.mktemp("faces")
    for p in src:
        shutil.copy(p, d / p.name)
    return d


def test_eval_identity_reports_distances_ci_and_rank1(faces_dir: Path) -> None:
    pytest.importorskip("dlib", reason="the identity extra (dlib-bin) is not installed")
    r = _cli(
        "eval", "--data", str(faces_dir), "--scale", "4", "--degrade", "realistic",
        "--variant", "video", "--arch", "fsrcnn-s", "--identity", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["faces"] == 8
    ident = out["identity"]
    assert set(ident) == {"bicubic", "model"}
    for m in ident.values():
        assert 0.0 < m["distance"] < 1.5 and 0.0 <= m["rank1"] <= 1.0
    lo, hi = ident["model"]["diff_ci95"]
    assert lo <= ident["model"]["diff_vs_bicubic"] <= hi
    # the model's and bicubic's outputs differ, so their distances do
    assert ident["model"]["distance"] != ident["bicubic"]["distance"]


def test_eval_auto_chooses_per_image_and_says_what(faces_dir: Path) -> None:
    r = _cli(
        "eval", "--data", str(faces_dir), "--scale", "2", "--degrade", "realistic",
        "--variant", "auto", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert sum(out["auto_chose"].values()) == out["faces"] == 8
    assert out["variant"] == "auto"


def test_eval_folder_without_a_big_enough_face_names_the_minimum(tmp_path: Path) -> None:
    img = np.full((90, 90, 3), 128, np.uint8)
    cv2.imwrite(str(tmp_path / "small.png"), img)
    r = _cli("eval", "--data", str(tmp_path), "--scale", "2")
    assert r.returncode != 0
    errs = _errors(r.stderr)
    assert len(errs) == 1 and "at least 189 px" in errs[0], r.stderr
    assert "Traceback" not in r.stderr


def test_eval_holdout_keeps_only_held_out_files(tmp_path: Path, faces_dir: Path) -> None:
    from streamsr.training._dataset import is_validation

    names = [p.name for p in sorted(faces_dir.glob("*.jpg"))]
    assert not any(is_validation(faces_dir / n) for n in names)  # none of the first eight
    r = _cli("eval", "--data", str(faces_dir), "--scale", "2", "--holdout")
    assert r.returncode != 0
    errs = _errors(r.stderr)
    assert len(errs) == 1 and "no held-out training image" in errs[0], r.stderr
