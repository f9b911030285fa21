"""`meshops demo --fast`: the whole story in one command, and nothing left behind afterwards."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("prometheus_binary")


def _demo_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("meshops-demo-*")}


def _prometheus_children() -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"meshops-prometheus-" in (proc / "cmdline").read_bytes():
                    found.add(int(proc.name))
            except OSError:
                continue
    return found


def test_demo_runs_the_whole_story_and_cleans_up(meshops, tmp_path):
    before_dirs, before_prometheus = _demo_dirs(), _prometheus_children()
    result = meshops("demo", "--fast", env={"TMPDIR": tempfile.gettempdir()}, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "did you mean 'tcpKeepalive'?" in out and "environments/dev/values.yaml" in out
    assert "38 created" in out
    assert "reviews v2 rolled out step by step and was promoted (exit 0)" in out
    assert "rolled back to v2" in out and "success rate 75% < min 99%" in out
    assert _demo_dirs() <= before_dirs  # none left behind (others' may end meanwhile)
    assert _prometheus_children() <= before_prometheus  # none left behind (others' may end meanwhile)


def test_demo_interrupted_with_ctrl_c_cleans_up_too():
    before_dirs, before_prometheus = _demo_dirs(), _prometheus_children()
    process = subprocess.Popen([sys.executable, "-m", "meshops", "demo", "--fast"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if "== 3." in line or time.monotonic() > deadline:
            break
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert _demo_dirs() <= before_dirs  # none left behind (others' may end meanwhile)
    assert _prometheus_children() <= before_prometheus  # none left behind (others' may end meanwhile)
