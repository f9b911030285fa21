"""Clusters planned on every core: an environment's fan-out shared between forked copies of meshops.

A Python process plans one cluster at a time however many threads it runs (reading a LIST's JSON,
normalizing and comparing objects all hold the interpreter lock); threads only hide round trips.
`fan_out_forked` splits the targets between `processes` copies of the process made by `os.fork()`
after the environment was rendered and validated (each copy already holds the render, nothing is
sent to it); each copy runs its share through `fleet.fan_out` with its share of the threads, turns
every result into a `portable` value (plain data and small objects: what the caller prints, not
the live objects) and sends them back pickled through a pipe. The parent plans the first share
itself rather than wait idle.

Forking is safe only from a process with a single thread (a copy of a lock held by another thread
would never be released in the child), so a multi-threaded caller — `serve`, the controller, a test
with in-process API servers — and a platform without `fork` get the threads-only fan-out, whose
results are the same.
"""
from __future__ import annotations

import os
import pickle
import signal
import struct
import threading
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Generic, Sequence, TypeVar

from ..cluster.target import Target
from ..cluster.transport import share_private_directory
from ..model.errors import MeshopsError
from . import DEFAULT_PARALLEL

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class TargetResult(Generic[T]):
    """How one cluster ended: a value, or the error that stopped it (the other clusters carry on)."""

    target: Target
    value: T | None = None
    error: MeshopsError | None = None

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error is not None else 0


def fan_out(targets: Sequence[Target], work: Callable[[Target], T], *, parallel: int = DEFAULT_PARALLEL) -> list[TargetResult[T]]:
    """`work` for every target, at most `parallel` at once; results in the order of `targets`.

    A `MeshopsError` becomes that target's result; anything else is a bug and is raised.
    """
    def one(target: Target) -> TargetResult[T]:
        try:
            return TargetResult(target, value=work(target))
        except MeshopsError as error:
            return TargetResult(target, error=error)

    if len(targets) <= 1 or parallel <= 1:
        return [one(target) for target in targets]
    with ThreadPoolExecutor(max_workers=min(parallel, len(targets)), thread_name_prefix="target") as pool:
        return list(pool.map(one, targets))

_LENGTH = struct.Struct("!Q")
_CHILD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class ClusterFailed(MeshopsError):
    """A cluster's error as a forked copy reported it: its one line and exit code."""

    def __init__(self, line: str, exit_code: int) -> None:
        super().__init__(line)
        self.exit_code = exit_code

    def one_line(self) -> str:
        return f"error: {self.message}"


def usable_processes(*, targets: int, parallel: int) -> int:
    """How many processes a fan-out of `targets` clusters, at most `parallel` at once, may use: one
    per core this process may run on, never more than clusters or `parallel`, and 1 where it cannot fork."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, targets, parallel))


def fan_out_forked(targets: Sequence[Target], work: Callable[[Target], T], portable: Callable[[T], R], *,
                   parallel: int) -> list[TargetResult[R]]:
    """`portable(work(target))` for every target, spread over `usable_processes`; results in the order of `targets`."""
    processes = usable_processes(targets=len(targets), parallel=parallel)

    def one(target: Target) -> R:
        return portable(work(target))

    if processes <= 1:
        return fan_out(targets, one, parallel=parallel)
    threads = -(-parallel // processes)
    shares = [list(range(first, len(targets), processes)) for first in range(processes)]
    share_private_directory()  # certificates the copies write go where this process removes them at exit
    children: list[tuple[int, int, list[int]]] = []
    finished = False
    results: list[TargetResult[R] | None] = [None] * len(targets)
    try:
        for share in shares[1:]:
            children.append(_fork(share, lambda indexes: fan_out([targets[i] for i in indexes], one, parallel=threads)))
        for index, result in zip(shares[0], fan_out([targets[i] for i in shares[0]], one, parallel=threads)):
            results[index] = result
        for pid, read_end, share in children:
            for index, outcome in zip(share, _receive(read_end, pid)):
                results[index] = _result(targets[index], outcome)
        finished = True
    finally:
        for pid, read_end, _ in children:
            _close_and_reap(pid, read_end, kill=not finished)
    return results  # type: ignore[return-value]


def _fork(share: list[int], run: Callable[[list[int]], list[TargetResult]]) -> tuple[int, int, list[int]]:
    """A copy of this process that runs `run(share)` and writes its outcomes to a pipe; (pid, read end, share)."""
    read_end, write_end = os.pipe()
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _CHILD_SIGNALS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12 on fork(): this process has one thread
            pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(share, run, write_end=write_end, mask=previous_mask)
        os.close(write_end)
        return pid, read_end, share
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _child(share: list[int], run: Callable[[list[int]], list[TargetResult]], *, write_end: int, mask: set) -> None:
    """Run the share, send one pickled list of outcomes, and leave without running the parent's exit code."""
    status = 0
    try:
        for signum in _CHILD_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)  # Ctrl-C ends the copy at once; the parent reports it
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            outcomes = [_outcome(result) for result in run(share)]
        except BaseException as error:  # noqa: BLE001 - a bug in a copy is raised by the parent, with its traceback
            outcomes = ("crash", f"{type(error).__name__}: {error}", traceback.format_exc())
        payload = pickle.dumps(outcomes, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as out:
            out.write(_LENGTH.pack(len(payload)))
            out.write(payload)
    except BaseException:  # noqa: BLE001 - nothing left to tell it with; the parent sees the pipe close
        status = 2
    finally:
        os._exit(status)


def _outcome(result: TargetResult) -> tuple:
    if result.error is not None:
        return ("error", result.error.one_line().removeprefix("error: "), result.error.exit_code)
    return ("value", result.value)


def _receive(read_end: int, pid: int) -> list[tuple]:
    with os.fdopen(read_end, "rb", closefd=False) as stream:
        header = stream.read(_LENGTH.size)
        payload = stream.read(_LENGTH.unpack(header)[0]) if len(header) == _LENGTH.size else b""
    if not payload:
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT:
            raise KeyboardInterrupt
        raise RuntimeError(f"a process planning clusters stopped without an answer (wait status {status})")
    outcomes = pickle.loads(payload)
    if isinstance(outcomes, tuple) and outcomes[0] == "crash":
        crash = RuntimeError(f"a process planning clusters failed: {outcomes[1]}")
        crash.add_note(outcomes[2])
        raise crash
    return outcomes


def _result(target: Target, outcome: tuple) -> TargetResult:
    if outcome[0] == "error":
        return TargetResult(target, error=ClusterFailed(outcome[1], outcome[2]))
    return TargetResult(target, value=outcome[1])


def _close_and_reap(pid: int, read_end: int, *, kill: bool) -> None:
    """Close the pipe and collect the copy (killed first when the parent stopped early): no zombies."""
    try:
        os.close(read_end)
    except OSError:
        pass
    try:
        if kill:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass  # already collected
