"""Running template code under the render budget: a forked worker with a memory cap and a deadline.

Render hands `run_bounded` a generator of results (one per template); it runs in a child made by
`os.fork()`, so the child already holds the loaded values and templates (nothing is re-imported or
copied in). The child caps its address space with `RLIMIT_AS` at what it has plus the memory
budget (beyond it Python raises MemoryError) and arms a SIGALRM at the deadline that raises
`BudgetExceeded` wherever the template is, so the error can name its line. The parent reads the
results from a pipe as they come (a template's results are used while the next one renders) and
kills the child if it has not answered shortly after the deadline (stuck inside one C call).
Results travel as `marshal` data: plain dicts, lists, tuples and strings, which is all a rendered
manifest is. Where `fork` does not exist the generator runs in-process (the sandbox's checks still
refuse oversized values, but nothing bounds time).
"""
from __future__ import annotations

import marshal
import os
import select
import signal
import struct
import time
import traceback
import warnings
from typing import Any, Callable, Iterator

try:
    import resource  # imported here, not in the child: a fork child should import nothing
except ImportError:  # not POSIX: no fork either
    resource = None  # type: ignore[assignment]

from ..model.errors import ConfigError, Location, MeshopsError
from .budget import MEMORY_HINT, BudgetExceeded, RenderBudget

# After the deadline the child raises in Python code at once; this is for a child stuck in C.
KILL_GRACE_SECONDS = 3.0
_FRAME = struct.Struct("!I")  # payload length; a frame is at most the memory budget (< 4 GiB)
_READ_CHUNK = 1 << 20
_ITEM, _DONE, _ERROR, _CRASH = "item", "done", "error", "crash"
_CHILD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGALRM}


def can_fork() -> bool:
    return hasattr(os, "fork") and hasattr(signal, "setitimer") and resource is not None


def run_bounded(produce: Callable[[], Iterator[Any]], *, budget: RenderBudget) -> Iterator[Any]:
    """The items `produce()` yields, made in a child process under `budget`; its errors re-raised here.

    A MeshopsError raised in the child is raised here with the same message, location and hint
    (as BudgetExceeded when it was one); a budget overrun the child could not report itself is a
    BudgetExceeded without a location, which the caller attributes to what it was waiting for.
    """
    if not can_fork():
        yield from produce()
        return
    read_end, write_end = os.pipe()
    _widen(write_end)
    pid = -1
    # Until the child has its own handlers, a Ctrl-C must not run the parent's handlers (and
    # `finally` blocks: cleanup of the caller's temporary files) in the child.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _CHILD_SIGNALS)
    try:
        with warnings.catch_warnings():
            # Python 3.12 warns about fork() in a threaded process; the child runs only template code and exits.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(produce, budget=budget, read_end=read_end, write_end=write_end, mask=previous_mask)
        os.close(write_end)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)  # a Ctrl-C that came meanwhile is raised here
        yield from _receive(read_end, pid=pid, budget=budget)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        if pid < 0:
            os.close(write_end)  # fork failed
        os.close(read_end)
        if pid > 0:
            _reap(pid)


def _widen(pipe_end: int) -> None:
    """A 1 MiB pipe instead of 64 KiB: a template's results cross in a few writes, not hundreds."""
    try:
        import fcntl

        fcntl.fcntl(pipe_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), _READ_CHUNK)
    except (ImportError, OSError):
        pass  # a smaller pipe only means more round trips


# -- the child ------------------------------------------------------------------------------------


def _child(produce: Callable[[], Iterator[Any]], *, budget: RenderBudget, read_end: int, write_end: int, mask: set) -> None:
    """Run `produce` under the budget, send every item and then `done` (or the error); exit."""
    status = 0
    try:
        os.close(read_end)
        out = os.fdopen(write_end, "wb")
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)  # Ctrl-C or a stop ends the child at once, running nothing of the parent's
        signal.signal(signal.SIGALRM, _deadline_handler(budget))
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _limit_memory(budget.memory)
        signal.setitimer(signal.ITIMER_REAL, budget.seconds)
        try:
            for item in produce():
                _send(out, (_ITEM, item))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        _send(out, (_DONE,))
    except BaseException as error:  # noqa: BLE001 - everything goes back to the parent
        status = 1
        try:
            _send(out, _error_frame(error, budget))
        except BaseException:  # noqa: BLE001 - nothing left to tell it with (or no pipe yet); the parent sees the exit
            status = 2
    finally:
        os._exit(status)  # no atexit handlers, no flushing of the parent's buffers, no return into its stack


def _limit_memory(budget_bytes: int) -> None:
    """Cap the address space at its current size plus the budget (Linux: from /proc/self/statm)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return  # no way to know the current size: leave the limit alone rather than guess
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = current + budget_bytes
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft == resource.RLIM_INFINITY or wanted < soft:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _deadline_handler(budget: RenderBudget) -> Callable[[int, Any], None]:
    def expired(signum: int, frame: Any) -> None:
        raise budget.overran()

    return expired


def _send(out: Any, frame: tuple) -> None:
    """One frame, whole: the deadline may not cut it in half (SIGALRM waits until it is written)."""
    payload = marshal.dumps(frame)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        out.write(_FRAME.pack(len(payload)))
        out.write(payload)
        out.flush()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})


def _error_frame(error: BaseException, budget: RenderBudget) -> tuple:
    if isinstance(error, MemoryError):
        error = budget.outgrew()
    if isinstance(error, MeshopsError):
        where = error.location
        return (_ERROR, isinstance(error, BudgetExceeded), error.message,
                where.file if where else None, where.line if where else None, error.obj, error.hint)
    return (_CRASH, f"{type(error).__name__}: {error}", traceback.format_exc())


# -- the parent -----------------------------------------------------------------------------------


def _receive(read_end: int, *, pid: int, budget: RenderBudget) -> Iterator[Any]:
    deadline = time.monotonic() + budget.seconds + KILL_GRACE_SECONDS
    buffer = bytearray()
    poller = select.poll()  # not select(): a busy server may hold more than 1,024 descriptors
    poller.register(read_end, select.POLLIN)
    while True:
        frame = _next_frame(buffer)
        if frame is None:
            left = deadline - time.monotonic()
            if not poller.poll(max(left, 0) * 1000):
                raise budget.overran()
            chunk = os.read(read_end, _READ_CHUNK)
            if not chunk:
                raise _vanished(pid, budget)
            buffer += chunk
            continue
        kind = frame[0]
        if kind == _ITEM:
            yield frame[1]
        elif kind == _DONE:
            return
        elif kind == _ERROR:
            raise _rebuild(frame)
        else:
            crash = RuntimeError(f"render worker failed: {frame[1]}")
            crash.add_note(frame[2])
            raise crash


def _next_frame(buffer: bytearray) -> tuple | None:
    if len(buffer) < _FRAME.size:
        return None
    (length,) = _FRAME.unpack_from(buffer)
    end = _FRAME.size + length
    if len(buffer) < end:
        return None
    with memoryview(buffer) as view:
        frame = marshal.loads(view[_FRAME.size:end])
    del buffer[:end]
    return frame


def _rebuild(frame: tuple) -> MeshopsError:
    _, exceeded, message, file, line, obj, hint = frame
    cls = BudgetExceeded if exceeded else ConfigError
    return cls(message, location=Location(file, line) if file else None, obj=obj, hint=hint)


def _vanished(pid: int, budget: RenderBudget) -> BudgetExceeded:
    """The child closed the pipe without a word: killed (the kernel's OOM killer) or out of memory while telling."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C reached the child first; the parent's own is on its way
    how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit status {os.WEXITSTATUS(status)}"
    return BudgetExceeded(f"rendering stopped without an answer ({how}); it probably ran out of its memory budget of "
                          f"{budget.describe_memory()}", hint=MEMORY_HINT)


def _reap(pid: int) -> None:
    """Kill the child if it still runs, and collect it either way (no zombies)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # already collected by _vanished

