"""A machine without the GUI libraries OpenCV's contrib build links (a minimal Debian/Ubuntu):
the command says in one line what to install. Simulated by hiding ``libGL.so.1`` in a private
mount namespace (needs root and util-linux's ``unshare``)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_a_missing_libgl_is_one_line_naming_the_package() -> None:
    libs = glob.glob("/usr/lib/*/libGL.so.1") + glob.glob("/lib/*/libGL.so.1")
    if os.geteuid() != 0 or shutil.which("unshare") is None or not libs:
        pytest.skip("hiding libGL.so.1 needs root, unshare and the library itself")
    script = Path(sys.executable).with_name("streamsr")
    hide = " && ".join(f"mount --bind /dev/null {lib}" for lib in sorted(set(libs)))
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"{hide} && exec {script} enhance --help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "mount" in r.stderr and "permission denied" in r.stderr.lower():
        pytest.skip(f"no private mounts here: {r.stderr.strip()}")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "libGL.so.1" in lines[0] and "apt-get install libgl1" in lines[0]
    assert "Traceback" not in r.stderr
