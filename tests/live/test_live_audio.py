"""Live audio: a camera's sound copied packet for packet into the recording, on the video's
timeline, through a reconnect; a camera whose codec the container cannot hold records without
it; segmented recordings carry their share."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from _live_servers import RtspServer, require_gst

from streamsr import Pipeline

pytestmark = pytest.mark.network

# The first answer of the test server (it starts its encoders for each new client) took over 2 s
# once with the machine loaded by a benchmark beside the suite: the open timeout is generous,
# the read timeout (which finds the outage) stays short.
FAST = dict(status_every_s=0, open_timeout_s=10.0, read_timeout_s=2.0, reconnect_delay_s=0.3)


def _packets(path: Path) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Video frame times, audio packet times (s) and the audio codec of a recording."""
    with av.open(str(path)) as c:
        codec = c.streams.audio[0].codec_context.name if c.streams.audio else None
        video, audio = [], []
        for p in c.demux():
            if p.pts is None or p.time_base is None:
                continue
            (audio if p.stream.type == "audio" else video).append(float(p.pts * p.time_base))
    return np.sort(np.array(video)), np.array(audio), codec


@pytest.fixture
def av_server() -> Any:
    require_gst()
    with RtspServer("--av", "cam", "--av", "g711:pcma") as s:
        yield s


def test_audio_is_recorded_in_step_with_the_video_through_a_reconnect(
    av_server: RtspServer, enhancer: Any, tmp_path: Path
) -> None:
    out = tmp_path / "rec.mkv"
    p = Pipeline(av_server.url("cam"), [out], enhancer=enhancer, **FAST)

    def chaos() -> None:
        time.sleep(4)
        av_server.stop()
        time.sleep(3)
        av_server.start()

    t = threading.Thread(target=chaos, daemon=True)
    with p:
        t.start()
        st = p.run(duration_s=14)
    t.join(timeout=20)
    assert st.reconnects >= 1
    video, audio, codec = _packets(out)
    assert codec == "aac"
    written = st.outputs[str(out)]["audio_packets_written"]
    # every packet read went into the recording, bar those that fell before its start (the
    # server sends a new client a second of buffered sound)
    assert len(audio) == written == st.audio_in - st.audio_dropped
    assert st.audio_in == p.source.audio_packets_read > 0
    assert np.all(np.diff(audio) > 0)  # in order
    # on the video's timeline: sound starts with the picture (what was left out came before
    # the recording's start: sound the server had buffered, or sent while the network loaded)
    # and never runs past it
    assert abs(audio[0] - video[0]) < 0.5
    assert audio[-1] <= video[-1] + 0.5
    # the outage is one gap in the sound, and the sound came back after it
    outage = int(np.argmax(np.diff(audio)))
    assert audio[outage + 1] - audio[outage] > 1.5
    assert outage + 1 < len(audio) - 1
    gaps = np.diff(audio)
    assert np.median(gaps) == pytest.approx(1024 / 16000, rel=0.2)


def test_g711_into_a_container_that_cannot_hold_it_is_re_encoded_to_aac(
    av_server: RtspServer, enhancer: Any, tmp_path: Path
) -> None:
    out = tmp_path / "rec.mkv"  # Matroska has no G.711: re-encoded, not lost
    with Pipeline(av_server.url("g711"), [out], enhancer=enhancer, **FAST) as p:
        st = p.run(duration_s=5)
    video, audio, codec = _packets(out)
    assert codec == "aac"
    assert len(video) == st.outputs[str(out)]["frames_written"] > 0
    assert abs(audio[0] - video[0]) < 0.5
    # the sound lasts as long as the picture (AAC frames of 1024 samples at 8 kHz)
    assert audio[-1] - audio[0] == pytest.approx(video[-1] - video[0], abs=0.6)
    with av.open(str(out)) as c:  # and decodes
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples / 8000 == pytest.approx(video[-1] - video[0], abs=0.6)


def test_a_codec_the_container_cannot_hold_is_left_out_with_a_warning(
    av_server: RtspServer, enhancer: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "rec.webm"  # WebM takes Opus or Vorbis only, and no AAC to re-encode to
    with (
        caplog.at_level(logging.WARNING),
        Pipeline(av_server.url("g711"), [out], enhancer=enhancer, codec="av1", **FAST) as p,
    ):
        st = p.run(duration_s=4)
    video, audio, codec = _packets(out)
    assert codec is None and len(audio) == 0
    assert len(video) == st.outputs[str(out)]["frames_written"] > 0
    assert any("recording without it" in r.getMessage() for r in caplog.records)


def test_g711_is_copied_into_mov(av_server: RtspServer, enhancer: Any, tmp_path: Path) -> None:
    out = tmp_path / "rec.mov"
    with Pipeline(av_server.url("g711"), [out], enhancer=enhancer, **FAST) as p:
        st = p.run(duration_s=5)
    video, audio, codec = _packets(out)
    assert codec == "pcm_alaw"
    assert len(audio) == st.outputs[str(out)]["audio_packets_written"] > 0
    assert abs(audio[0] - video[0]) < 0.5


def test_each_segment_carries_its_sound(
    av_server: RtspServer, enhancer: Any, tmp_path: Path
) -> None:
    out = tmp_path / "seg_{index:03d}.mkv"
    with Pipeline(av_server.url("cam"), [out], enhancer=enhancer, segment_seconds=2, **FAST) as p:
        st = p.run(duration_s=7)
    files = sorted(tmp_path.glob("seg_*.mkv"))
    assert len(files) >= 3
    total = 0
    for f in files[:-1]:  # (the last may be a moment long)
        video, audio, codec = _packets(f)
        assert codec == "aac" and len(audio) > 15
        assert abs(audio[0] - video[0]) < 0.5  # each segment starts at its own 0
        total += len(audio)
    total += len(_packets(files[-1])[1])
    assert total == st.outputs[str(out)]["audio_packets_written"]


def test_audio_is_published_over_rtsp_beside_the_video(
    av_server: RtspServer, enhancer: Any, tmp_path: Path
) -> None:
    rec = tmp_path / "published.mkv"
    with RtspServer("--record", f"pub={rec}") as server:
        with Pipeline(av_server.url("cam"), [server.url("pub")], enhancer=enhancer, **FAST) as p:
            st = p.run(duration_s=5)
        time.sleep(0.5)
    out = st.outputs[server.url("pub")]
    video, audio, codec = _packets(rec)  # what the RTSP server received
    assert codec == "aac"
    assert out["audio_packets_written"] == st.audio_in - st.audio_dropped > 15
    # every packet sent arrived (bar the last, which the server's muxer may still hold)
    assert out["audio_packets_written"] - 2 <= len(audio) <= out["audio_packets_written"]
    assert abs(audio[0] - video[0]) < 0.5
