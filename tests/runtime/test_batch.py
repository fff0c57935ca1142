"""``streamsr batch`` on the local pool: every frame and audio packet of every good file, the
corrupt one recorded as failed, a rerun that does nothing, a killed worker's file redone."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import pytest
from _media import make_clip

from streamsr._errors import ConfigError
from streamsr.runtime._batch import JOURNAL, Batch, discover


def _frames_and_audio(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    with av.open(str(path)) as c:
        audio = sum(1 for p in c.demux(audio=0) if p.dts is not None) if c.streams.audio else 0
    return frames, audio


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """in/: a.mp4 (audio), b.mkv, sub/c.mp4, sub/deeper/e.mp4, d.ts (MPEG-TS), broken.mp4 (a
    cut-off copy), notes.txt."""
    root = tmp_path_factory.mktemp("batch") / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    make_clip(root / "a.mp4", frames=20, audio=True)
    make_clip(root / "b.mkv", frames=15)
    make_clip(root / "sub" / "c.mp4", frames=12)
    make_clip(root / "sub" / "deeper" / "e.mp4", frames=8)
    make_clip(root / "d.ts", frames=10, container_format="mpegts")
    (root / "broken.mp4").write_bytes((root / "a.mp4").read_bytes()[:900])
    (root / "notes.txt").write_text("not a video\n")
    return root


GOOD = {
    "a.mp4": "a.mp4",
    "b.mkv": "b.mkv",
    "d.mkv": "d.ts",
    "sub/c.mp4": "sub/c.mp4",
    "sub/deeper/e.mp4": "sub/deeper/e.mp4",
}


def check_outputs(tree: Path, out: Path) -> None:
    """Every good input's output holds every frame and audio packet; nothing else is left."""
    for rel, src in GOOD.items():
        assert _frames_and_audio(out / rel) == _frames_and_audio(tree / src), rel
    assert _frames_and_audio(out / "a.mp4")[1] > 0  # the audio came through
    assert not (out / "broken.mp4").exists()
    assert not list(out.rglob(".*partial*"))
    last = {r["input"]: r for r in _records(out)}
    assert last[str(tree / "broken.mp4")]["status"] == "failed"
    assert all(last[str(tree / src)]["status"] == "done" for src in GOOD.values())


def _records(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / JOURNAL).read_text().splitlines()]


def test_a_folder_is_done_once_and_a_rerun_does_nothing(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    jobs = discover([tree], out)
    assert sorted(str(j.output.relative_to(out)) for j in jobs) == [
        "a.mp4", "b.mkv", "broken.mp4", "d.mkv", "sub/c.mp4", "sub/deeper/e.mp4",
    ]  # fmt: skip
    s = Batch(jobs, out, keywords={"scale": 2}, workers=2, retries=1).run(progress=False)
    assert (s.done, s.failed, s.skipped) == (5, 1, 0)
    check_outputs(tree, out)
    assert s.frames == 20 + 15 + 12 + 8 + 10
    last = {r["input"]: r for r in _records(out)}
    assert last[str(tree / "broken.mp4")]["attempt"] == 2  # retried once
    assert "broken.mp4" in str(last[str(tree / "broken.mp4")]["error"])
    assert last[str(tree / "a.mp4")]["frames"] == 20

    again = Batch(discover([tree], out), out, keywords={"scale": 2}, workers=2, retries=0)
    assert [j.input.name for j in again.todo] == ["broken.mp4"]  # only the failed one
    s2 = again.run(progress=False)
    assert (s2.done, s2.skipped, s2.failed) == (0, 5, 1)

    # other options: the done files are redone (and the journal says why)
    other = Batch(discover([tree / "sub"], out), out, keywords={"scale": 2, "mark": True})
    assert len(other.todo) == 2


def test_a_killed_worker_costs_only_its_file_which_is_redone(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    make_clip(src / "long.mp4", frames=900, size_wh=(320, 240))
    make_clip(src / "short.mp4", frames=10)
    out = tmp_path / "out"
    batch = Batch(discover([src], out), out, keywords={"scale": 2}, workers=1, retries=1)
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(batch.run(progress=False)))
    t.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and t.is_alive():
        for pid, job in batch.busy():
            if job.input.name == "long.mp4" and job.partial.exists():  # mid-file: writing
                os.kill(pid, signal.SIGKILL)
                killed = pid
        time.sleep(0.05)
    t.join(timeout=300)
    assert killed is not None, "the long file was never seen in progress"
    assert not t.is_alive()
    s = result[0]
    assert s.done == 2 and s.failed == 0  # type: ignore[attr-defined]
    assert _frames_and_audio(out / "long.mp4")[0] == 900
    recs = [r for r in _records(out) if r["input"] == str(src / "long.mp4")]
    assert [r["status"] for r in recs] == ["started", "failed", "started", "done"]
    assert "worker process died" in str(recs[1]["error"])


def test_bad_batch_inputs_are_one_clear_error(tree: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no video files with a video extension"):
        discover([empty], tmp_path / "o1")
    with pytest.raises(ConfigError, match="is inside the input folder"):
        discover([tree], tree / "out")
    with pytest.raises(ConfigError, match="batch input not found"):
        discover([tmp_path / "missing"], tmp_path / "o2")
    (tmp_path / "x").mkdir()
    make_clip(tmp_path / "x" / "a.mp4", frames=2)
    (tmp_path / "y").mkdir()
    make_clip(tmp_path / "y" / "a.mp4", frames=2)
    with pytest.raises(ConfigError, match="would both be written"):
        discover([tmp_path / "x" / "a.mp4", tmp_path / "y" / "a.mp4"], tmp_path / "o3")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_output_folder_is_refused(tree: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            Batch(discover([tree / "sub"], ro / "out"), ro / "out", keywords={})
    finally:
        ro.chmod(0o755)


def test_the_command_reports_and_exits_non_zero_on_a_failed_file(
    tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "streamsr", "batch", str(tree), "-o", str(out),
         "--retries", "0", "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "streamsr: failed: " in r.stderr and "broken.mp4" in r.stderr
    assert re.search(r"^done\s+5$", r.stderr, re.M), r.stderr
    r2 = subprocess.run(
        [sys.executable, "-m", "streamsr", "batch", str(tree / "sub"), "-o", str(out / "x"),
         "--variant", "sharp"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r2.returncode == 2 and "invalid choice" in r2.stderr


# -- on a real local Ray (started once for this module) -------------------------------------


@pytest.fixture(scope="module")
def ray_local() -> object:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_does_the_folder_and_a_rerun_does_nothing(
    ray_local: object, tree: Path, tmp_path: Path
) -> None:
    from streamsr.runtime._batch import run_on_ray

    out = tmp_path / "out"
    batch = Batch(discover([tree], out), out, keywords={"scale": 2}, retries=1)
    s = run_on_ray(batch, "auto", progress=False)
    assert (s.done, s.failed, s.skipped) == (5, 1, 0)
    check_outputs(tree, out)
    again = Batch(discover([tree], out), out, keywords={"scale": 2}, retries=0)
    assert [j.input.name for j in again.todo] == ["broken.mp4"]
    s2 = run_on_ray(again, "auto", progress=False)
    assert (s2.done, s2.skipped) == (0, 5)


def _ray_task_pids() -> list[int]:
    r = subprocess.run(["pgrep", "-f", "ray::_ray_run_one"], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def test_ray_redoes_a_file_whose_worker_is_killed(ray_local: object, tmp_path: Path) -> None:
    from streamsr.runtime._batch import run_on_ray

    src = tmp_path / "in"
    src.mkdir()
    make_clip(src / "long.mp4", frames=900, size_wh=(320, 240))
    out = tmp_path / "out"
    batch = Batch(discover([src], out), out, keywords={"scale": 2}, retries=1)
    partial = batch.todo[0].partial
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(run_on_ray(batch, "auto", progress=False)))
    t.start()
    killed: list[int] = []
    deadline = time.monotonic() + 180
    while not killed and time.monotonic() < deadline and t.is_alive():
        if partial.exists():  # mid-file: the output is being written
            for pid in _ray_task_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.05)
    t.join(timeout=300)
    assert killed, "the file was never seen in progress"
    s = result[0]
    assert s.done == 1 and s.failed == 0  # type: ignore[attr-defined]
    assert _frames_and_audio(out / "long.mp4")[0] == 900


def test_ray_bad_addresses_and_a_missing_extra_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from streamsr.runtime._batch import init_ray

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # (a TCP connect first: ray.init itself waits minutes on a dead address)
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster"):
        init_ray(f"127.0.0.1:{port}")
    with pytest.raises(ConfigError, match="expected auto or HOST:PORT"):
        init_ray("nowhere")
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"streamsr\[ray\]"):
        init_ray("auto")


def test_ctrl_c_keeps_finished_files_and_the_cut_one_is_redone(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    make_clip(src / "a_short.mp4", frames=10)
    make_clip(src / "b_long.mp4", frames=900, size_wh=(320, 240))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "streamsr", "batch", str(src), "-o", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    partial = out / ".b_long.partial.mp4"
    deadline = time.monotonic() + 180
    while not partial.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert partial.exists(), "the long file was never seen in progress"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert _frames_and_audio(out / "a_short.mp4")[0] == 10  # finished: kept
    assert not (out / "b_long.mp4").exists() and not partial.exists()
    last = {r["input"]: r for r in _records(out)}
    assert last[str(src / "b_long.mp4")]["status"] == "started"  # cut off: redone next time
    again = Batch(discover([src], out), out, keywords={})
    assert [j.input.name for j in again.todo] == ["b_long.mp4"]


def test_a_pipeline_file_gives_every_option(tree: Path, tmp_path: Path) -> None:
    from streamsr.cli._batch import _from_pipeline_file

    root = Path(__file__).resolve().parents[2] / "pipelines"
    kw = _from_pipeline_file(str(root / "transcode.toml"), {})
    assert kw["options"].source.live is False and kw["output"].kind == "file"
    with pytest.raises(ConfigError, match="mode = 'live'"):
        _from_pipeline_file(str(root / "surveillance.toml"), {})
    with pytest.raises(ConfigError, match=r"leave out the other flags \(scale\)"):
        _from_pipeline_file(str(root / "transcode.toml"), {"scale": 3})
    out = tmp_path / "out"
    s = Batch(discover([tree / "sub"], out), out, keywords=kw).run(progress=False)
    assert s.done == 2
    assert _frames_and_audio(out / "c.mp4") == _frames_and_audio(tree / "sub" / "c.mp4")
