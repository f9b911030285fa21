"""Clusters shared between forked processes: results in order, errors per cluster, a crash raised, threads when unsafe.

Each case runs in a fresh interpreter (`python -c`), the way the CLI runs: a process with one
thread, so `fan_out_forked` may fork (a pytest process with in-process API servers may not).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from meshops.pipeline.fanout import usable_processes

CORES = len(os.sched_getaffinity(0))
PRELUDE = textwrap.dedent("""
    import json, os, threading, time
    from meshops.cluster.target import Target
    from meshops.model.errors import ClusterError
    from meshops.pipeline.fanout import fan_out_forked
    targets = [Target("prod", f"c{i:02d}") for i in range(7)]

    def work(target):
        time.sleep(0.3)  # a round trip: every process gets clusters before the queue runs dry
        if target.cluster == "c03":
            raise ClusterError("cannot reach c03", hint="check the context")
        return {"cluster": target.cluster, "pid": os.getpid()}

    def show(results):
        print(json.dumps([[r.target.cluster, r.value, r.error and r.error.one_line(), r.exit_code] for r in results]))
""")


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(script)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(CORES < 2, reason="one core: nothing to share")
def test_clusters_are_shared_between_processes_and_come_back_in_order_with_their_errors():
    result = run("show(fan_out_forked(targets, work, lambda value: value, parallel=8))")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row[0] for row in rows] == [f"c{i:02d}" for i in range(7)]
    assert rows[3][1:] == [None, "error: cannot reach c03 (check the context)", 3]
    pids = {row[1]["pid"] for row in rows if row[1]}
    assert len(pids) == min(CORES, 7)  # the parent plans a share itself, every other core one copy
    assert all(row[1] == {"cluster": row[0], "pid": row[1]["pid"]} for row in rows if row[1])


def test_parallel_1_and_a_process_with_threads_stay_in_one_process():
    result = run("""
        show(fan_out_forked(targets, work, lambda value: value, parallel=1))
        threading.Thread(target=threading.Event().wait, args=(5,), daemon=True).start()
        show(fan_out_forked(targets, work, lambda value: value, parallel=8))
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert len({row[1]["pid"] for row in json.loads(line) if row[1]}) == 1


@pytest.mark.skipif(CORES < 2, reason="one core: nothing to share")
def test_a_bug_in_any_process_is_raised_with_its_traceback_and_no_copy_is_left_behind():
    result = run("""
        def broken(target):
            time.sleep(0.3)
            if target.cluster in ("c01", "c02"):  # one taken by this process, or both by a copy
                raise KeyError("a bug")
            return target.cluster
        try:
            fan_out_forked(targets, broken, lambda value: value, parallel=8)
        except KeyError as bug:  # raised in this process: the bug itself
            print("bug raised:", type(bug).__name__, bug)
        except RuntimeError as crash:  # raised in a copy: named, with the copy's traceback
            named = str(crash).removeprefix("a process planning clusters failed: KeyError: ")
            print("bug raised:", "KeyError" if "KeyError" in "".join(getattr(crash, "__notes__", [])) else "?", named)
        print("no children:", end=" ")
        try:
            os.waitpid(-1, os.WNOHANG)
            print(False)
        except ChildProcessError:
            print(True)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["bug raised: KeyError 'a bug'", "no children: True"]


def test_processes_are_bounded_by_cores_clusters_and_parallel():
    assert usable_processes(targets=1, parallel=8) == 1
    assert usable_processes(targets=20, parallel=1) == 1
    assert usable_processes(targets=20, parallel=8) in (1, min(CORES, 8))  # 1 when this test process has threads
