"""Work over an environment's clusters: in threads (`fan_out`), or on every core (`fan_out_forked`).

Every cluster ends in a value or the `MeshopsError` that stopped it (`TargetResult`), never taking
the others down. Threads hide round trips, but a Python process plans one cluster at a time
however many it runs (reading a LIST's JSON, normalizing and comparing objects all hold the
interpreter lock). `fan_out_forked` shares the clusters between copies of the process made by
`os.fork()` after the environment was rendered and validated (each copy already holds the render,
nothing is sent to it), one per core, the parent included: every process takes clusters from one
queue with its share of the threads, turns each result into a `portable` value (what the caller
prints, not the live objects) and the copies send theirs back pickled through a pipe.

Forking is safe only from a process with a single thread (a copy of a lock held by another thread
would never be released in the child), so a multi-threaded caller — `serve`, the controller, a test
with in-process API servers — and a platform without `fork` get the threads-only fan-out, whose
results are the same.
"""
from __future__ import annotations

import gc
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
    if len(targets) <= 1 or parallel <= 1:
        return [attempt(target, work) for target in targets]
    with ThreadPoolExecutor(max_workers=min(parallel, len(targets)), thread_name_prefix="target") as pool:
        return list(pool.map(lambda target: attempt(target, work), targets))


def attempt(target: Target, work: Callable[[Target], T]) -> TargetResult[T]:
    """`work(target)` as a result: a `MeshopsError` is that target's; anything else is a bug and is raised."""
    try:
        return TargetResult(target, value=work(target))
    except MeshopsError as error:
        return TargetResult(target, error=error)


_LENGTH = struct.Struct("!Q")
_INDEX = struct.Struct("!I")  # one queued target: its index
_QUEUE_BYTES = 60_000  # the queue is written whole before any process reads: below a pipe's 64 KiB buffer
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
    """`portable(work(target))` for every target, spread over `usable_processes`; results in the order of `targets`.

    The targets wait in a queue every process takes from (a pipe of their indexes, read a record at
    a time: a read of a whole record from a pipe is atomic), so a slow cluster holds up one thread,
    not a share fixed in advance.
    """
    processes = usable_processes(targets=len(targets), parallel=parallel)

    def one(target: Target) -> R:
        return portable(work(target))

    if processes <= 1 or len(targets) * _INDEX.size > _QUEUE_BYTES:
        return fan_out(targets, one, parallel=parallel)
    threads = -(-parallel // processes)
    queue = _queue_of(len(targets))
    share_private_directory()  # certificates the copies write go where this process removes them at exit
    # What this process holds so far (the render, the schemas) is never garbage: the cyclic collector,
    # here and in the copies, walks only what is made from now on, and the copies do not touch (and
    # so copy) every page of the parent's heap to do it.
    gc.freeze()
    children: list[tuple[int, int]] = []
    finished = False
    results: list[TargetResult[R] | None] = [None] * len(targets)
    try:
        for _ in range(processes - 1):
            children.append(_fork(lambda: _drain(queue, targets, one, threads=threads)))
        for index, result in _drain(queue, targets, one, threads=threads):
            results[index] = result
        for pid, read_end in children:
            for index, outcome in _receive(read_end, pid):
                results[index] = _result(targets[index], outcome)
        finished = True
    finally:
        os.close(queue)
        for pid, read_end in children:
            _close_and_reap(pid, read_end, kill=not finished)
        gc.unfreeze()
    return results  # type: ignore[return-value]


def _queue_of(count: int) -> int:
    """The read end of a pipe holding the indexes 0..count-1, its write end closed (an empty read: no more)."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"".join(_INDEX.pack(index) for index in range(count)))  # within the pipe's buffer
    finally:
        os.close(write_end)
    return read_end


def _drain(queue: int, targets: Sequence[Target], one: Callable[[Target], R], *,
           threads: int) -> list[tuple[int, TargetResult[R]]]:
    """Take targets from the queue until it is empty, `threads` at a time: (index, result) of each taken."""
    def taker() -> list[tuple[int, TargetResult[R]]]:
        taken = []
        while True:
            record = os.read(queue, _INDEX.size)
            if not record:
                return taken
            (index,) = _INDEX.unpack(record)
            taken.append((index, attempt(targets[index], one)))

    if threads <= 1:
        return taker()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="target") as pool:
        return [pair for share in pool.map(lambda _: taker(), range(threads)) for pair in share]


def _fork(run: Callable[[], list[tuple[int, TargetResult]]]) -> tuple[int, int]:
    """A copy of this process that runs `run()` and writes its outcomes to a pipe; (pid, read end)."""
    read_end, write_end = os.pipe()
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _CHILD_SIGNALS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12 on fork(): this process has one thread
            pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(run, write_end=write_end, mask=previous_mask)
        os.close(write_end)
        return pid, read_end
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _child(run: Callable[[], list[tuple[int, TargetResult]]], *, write_end: int, mask: set) -> None:
    """Run, send one pickled list of (index, outcome), and leave without running the parent's exit code."""
    status = 0
    try:
        for signum in _CHILD_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)  # Ctrl-C ends the copy at once; the parent reports it
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            outcomes = [(index, _outcome(result)) for index, result in run()]
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
