"""A real RTSP server on 127.0.0.1 for the live tests and the latency benchmark.

Runs under Debian's ``/usr/bin/python3`` with GStreamer's RTSP server (``gi``), not in the
project's virtualenv. Debian packages: gir1.2-gst-rtsp-server-1.0 python3-gi
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
gstreamer1.0-plugins-bad gstreamer1.0-libav.

Mount points, each given on the command line:

``--loop NAME=FILE[@WxH]``
    FILE decoded in real time and looped for ever, like a camera that is always on: clients
    join mid-stream (one shared H.264 encoder, ``x264enc tune=zerolatency``, a keyframe every
    second). ``@WxH`` scales it.
``--testsrc NAME[=WxH][:FRAMES]``
    GStreamer's live test pattern; with FRAMES, each client gets its own stream that ends
    after that many frames (for reconnect loops).
``--relay PUSH=VIEW``
    Clients publish H.264 to ``/PUSH`` (RTSP RECORD, as ``ffmpeg -f rtsp`` does) and anyone
    reads the same stream, not re-encoded, from ``/VIEW``.
``--audio NAME``
    A live audio-only stream (a sine tone, PCMA): a stream without video.
``--av NAME[:CODEC]``
    A live camera with sound: the test pattern (320x240, 30 fps) and a sine tone whose
    pitch steps every second, as AAC (``aac``, the default: 16 kHz mono, as IP cameras send)
    or G.711 A-law (``pcma``, 8 kHz).
``--record NAME=FILE``
    Clients publish H.264 video and AAC audio to ``/NAME`` (RTSP RECORD); both are written,
    as received, to the Matroska FILE (streamable: readable while it grows).
``--auth USER:PASSWORD``
    Basic authentication for every mount point, those above included.

Prints ``READY <port>`` on stdout once it listens; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

H264_CAPS = "video/x-h264,stream-format=byte-stream,alignment=au"


def _size_caps(size: str | None) -> str:
    if not size:
        return ""
    w, h = size.lower().split("x")
    return f"! videoscale ! video/x-raw,width={int(w)},height={int(h)},pixel-aspect-ratio=1/1 "


class Looper:
    """Decode FILE in real time, looping, into an intervideosink channel."""

    def __init__(self, name: str, path: str, size: str | None) -> None:
        self.channel = f"loop-{name}"
        self.pipeline = Gst.parse_launch(
            f"filesrc location={path} ! decodebin ! videoconvert {_size_caps(size)}"
            f"! videorate ! video/x-raw,framerate=30/1 ! intervideosink channel={self.channel}"
            " sync=true"
        )
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_message)
        self.pipeline.set_state(Gst.State.PAUSED)
        self.pipeline.get_state(Gst.CLOCK_TIME_NONE)
        self._seek()
        self.pipeline.set_state(Gst.State.PLAYING)

    def _seek(self) -> None:
        self.pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.SEGMENT, 0)

    def _on_message(self, _bus: object, msg: Gst.Message) -> None:
        if msg.type == Gst.MessageType.SEGMENT_DONE:
            # Non-flushing segment seek: playback continues seamlessly from the start.
            self.pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.SEGMENT, 0)
        elif msg.type == Gst.MessageType.ERROR:
            err, _dbg = msg.parse_error()
            print(f"looper {self.channel}: {err.message}", file=sys.stderr, flush=True)


class Relay:
    """Buffers that arrive on a RECORD mount, pushed to every client of a play mount."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sources: list[Gst.Element] = []

    def on_record_configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        sink = media.get_element().get_by_name("relay_sink")
        sink.connect("new-sample", self._on_sample)

    def on_view_configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_by_name("relay_src")
        with self.lock:
            self.sources.append(src)
        media.connect("unprepared", self._on_unprepared, src)

    def _on_unprepared(self, _media: object, src: Gst.Element) -> None:
        with self.lock:
            if src in self.sources:
                self.sources.remove(src)

    def _on_sample(self, sink: Gst.Element) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        buf = sample.get_buffer().copy()
        buf.pts = Gst.CLOCK_TIME_NONE  # appsrc do-timestamp stamps it with its running time
        buf.dts = Gst.CLOCK_TIME_NONE
        with self.lock:
            sources = list(self.sources)
        for src in sources:
            src.emit("push-buffer", buf)
        return Gst.FlowReturn.OK


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--loop", action="append", default=[], metavar="NAME=FILE[@WxH]")
    ap.add_argument("--testsrc", action="append", default=[], metavar="NAME[=WxH]")
    ap.add_argument("--relay", action="append", default=[], metavar="PUSH=VIEW")
    ap.add_argument("--audio", action="append", default=[], metavar="NAME")
    ap.add_argument("--av", action="append", default=[], metavar="NAME[:CODEC]")
    ap.add_argument("--record", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("--auth", metavar="USER:PASSWORD")
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    # One thread per client: a publisher's TCP-interleaved RTP is read on its client's thread,
    # and a viewer's DESCRIBE blocks its own thread until the relayed stream has caps.
    server.get_thread_pool().set_max_threads(64)
    mounts = server.get_mount_points()
    keep: list[object] = []
    factories: list[GstRtspServer.RTSPMediaFactory] = []

    def add(path: str, launch: str, *, shared: bool = True, record: bool = False):
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(launch)
        f.set_shared(shared)
        f.set_latency(0)
        if record:
            f.set_transport_mode(GstRtspServer.RTSPTransportMode.RECORD)
            # EOS down the pipeline when the client leaves, so the muxer writes what it still
            # holds: without it, a recording lost the audio queued ahead of the last video
            # frames (38 of 78 packets once, on a loaded machine)
            f.set_eos_shutdown(True)
        mounts.add_factory(f"/{path}", f)
        factories.append(f)
        return f

    # SPS/PPS every second (config-interval=1), not with every keyframe (-1): with -1, FFmpeg
    # clients lost the first slice of every P-frame of multi-slice streams (x264 zerolatency).
    enc = (
        "videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast"
        " key-int-max=30 bitrate=4000 ! video/x-h264,profile=baseline"
        " ! rtph264pay name=pay0 pt=96 config-interval=1"
    )
    for spec in args.loop:
        name, _, rest = spec.partition("=")
        path, _, size = rest.partition("@")
        looper = Looper(name, path, size or None)
        keep.append(looper)
        add(
            name,
            f"( intervideosrc channel={looper.channel} timeout=18446744073709551615"
            f" ! video/x-raw,framerate=30/1 ! {enc} )",
        )
    for spec in args.testsrc:
        spec, _, frames = spec.partition(":")
        name, _, size = spec.partition("=")
        w, _, h = (size or "320x240").lower().partition("x")
        limit = f" num-buffers={int(frames)}" if frames else ""
        add(
            name,
            f"( videotestsrc is-live=true pattern=ball{limit}"
            f" ! video/x-raw,width={int(w)},height={int(h)},framerate=30/1 ! {enc} )",
            shared=not frames,
        )
    for name in args.audio:
        add(
            name,
            "( audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=8000,channels=1"
            " ! alawenc ! rtppcmapay name=pay0 pt=8 )",
        )
    for spec in args.av:
        name, _, codec = spec.partition(":")
        if (codec or "aac") == "aac":
            audio = (
                "audio/x-raw,rate=16000,channels=1 ! audioconvert ! avenc_aac bitrate=32000"
                " ! aacparse ! rtpmp4gpay name=pay1 pt=97"
            )
        else:
            audio = "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8"
        add(
            name,
            "( videotestsrc is-live=true pattern=ball"
            f" ! video/x-raw,width=320,height=240,framerate=30/1 ! {enc}"
            f"  audiotestsrc is-live=true wave=sine freq=440 ! {audio} )",
        )
    for spec in args.record:
        name, _, path = spec.partition("=")
        add(
            name,
            "( rtph264depay name=depay0 ! h264parse ! queue ! mux."
            "  rtpmp4gdepay name=depay1 ! aacparse ! queue ! mux."
            f"  matroskamux name=mux streamable=true ! filesink location={path} sync=false )",
            shared=False,
            record=True,
        )
    for spec in args.relay:
        push, _, view = spec.partition("=")
        relay = Relay()
        keep.append(relay)
        fr = add(
            push,
            "( rtph264depay name=depay0 ! h264parse config-interval=1 ! "
            f"{H264_CAPS} ! appsink name=relay_sink emit-signals=true sync=false )",
            shared=False,
            record=True,
        )
        fr.connect("media-configure", relay.on_record_configure)
        fv = add(
            view,
            f"( appsrc name=relay_src is-live=true format=time do-timestamp=true caps={H264_CAPS}"
            " ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )",
        )
        fv.connect("media-configure", relay.on_view_configure)

    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        for f in factories:
            f.add_role_from_structure(
                Gst.Structure.from_string(
                    "user, media.factory.access=(boolean)true, "
                    "media.factory.construct=(boolean)true"
                )[0]
            )

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    # Drop sessions of clients that vanished without TEARDOWN.
    GLib.timeout_add_seconds(2, lambda: (server.get_session_pool().cleanup(), True)[1])
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: (loop.quit(), False)[1])
    print(f"READY {args.port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
