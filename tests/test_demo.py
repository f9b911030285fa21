"""`meshops demo --fast`: the whole story in one command, and nothing left behind afterwards.

Each demo runs with a temp dir of its own (TMPDIR), so "nothing left behind" is checked in that
dir and among the Prometheus processes whose data lives there, whatever else runs on the machine.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("prometheus_binary")


def _temp_dir(tmp_path: Path) -> Path:
    """A TMPDIR for one demo run: everything the demo creates goes below it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


def _left_behind(temp_dir: Path) -> list[str]:
    """What a finished demo left in its TMPDIR (anything at all) and Prometheus processes using it."""
    left = [p.name for p in temp_dir.iterdir()]
    marker = str(temp_dir).encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"prometheus" in cmdline and marker in cmdline:
                left.append(f"process {proc.name}")
    return left


def test_demo_runs_the_whole_story_and_cleans_up(meshops, tmp_path):
    temp_dir = _temp_dir(tmp_path)
    result = meshops("demo", "--fast", env={"TMPDIR": str(temp_dir)}, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "did you mean 'tcpKeepalive'?" in out and "environments/dev/values.yaml" in out
    assert "38 created" in out
    assert "reviews v2 rolled out step by step and was promoted (exit 0)" in out
    assert "rolled back to v2" in out and "success rate 75% < min 99%" in out
    assert _left_behind(temp_dir) == []


def _as_in_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it: a shell starts background jobs (a CI step run with `&`, a
    script's `cmd &`) with SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_demo_interrupted_with_ctrl_c_cleans_up_too(tmp_path):
    temp_dir = _temp_dir(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "meshops", "demo", "--fast"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               preexec_fn=_as_in_a_terminal,
                               env={**os.environ, "TMPDIR": str(temp_dir)})
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if "== 3." in line or time.monotonic() > deadline:
            break
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert _left_behind(temp_dir) == []


def test_demo_keep_ends_by_printing_the_dashboard_url_and_serves_it_until_ctrl_c(tmp_path):
    from helpers import http

    temp_dir = _temp_dir(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "meshops", "demo", "--fast", "--keep"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               preexec_fn=_as_in_a_terminal,
                               env={**os.environ, "TMPDIR": str(temp_dir)})
    deadline = time.monotonic() + 180
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("dashboard: http://") or time.monotonic() > deadline:
                break
        url = lines[-1].split()[1].rstrip("/")
        overview = http("GET", url + "/")
        rollout = http("GET", url + "/rollouts/dev/default/bookinfo/reviews")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output = "".join(lines) + process.communicate(timeout=60)[0]
    assert lines[-1].startswith("dashboard: http://127.0.0.1:"), output
    assert overview[0] == 200 and b'href="/rollouts/dev/default/bookinfo/reviews"' in overview[1]
    assert rollout[0] == 200 and b"rolled back to v2 after 2 failed analyses" in rollout[1]
    assert process.returncode == 0, output
    assert _left_behind(temp_dir) == []
