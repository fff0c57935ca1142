"""Sinks: where frames go (video files, RTSP servers, virtual cameras, a preview window)."""

from streamsr.sinks._file import CODECS, DEFAULT_CRF, DEFAULT_PRESET, Codec, FileSink, same_file
from streamsr.sinks._options import OutputSpec, Sink, open_sink, output_kind
from streamsr.sinks._preview import PreviewSink
from streamsr.sinks._rtsp import RtspSink
from streamsr.sinks._segments import SegmentedFileSink
from streamsr.sinks._virtualcam import VirtualCamSink

__all__ = [
    "CODECS",
    "DEFAULT_CRF",
    "DEFAULT_PRESET",
    "Codec",
    "FileSink",
    "OutputSpec",
    "PreviewSink",
    "RtspSink",
    "SegmentedFileSink",
    "Sink",
    "VirtualCamSink",
    "open_sink",
    "output_kind",
    "same_file",
]
