"""SIGINT and SIGTERM while asyncfix works: stop within moments, never half way through a
write, and leave no process or temporary file behind.

The heavy work (parsing, rewriting, formatting large files) runs in worker processes that
only compute: on a signal they are killed, not awaited. The parent only sets a flag where a
signal must not land (a fork, a write and its count) and looks at it where stopping is
safe.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, wait
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor  # (multiprocessing: ~10 ms to import)

T = TypeVar("T")


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while files were being processed; nothing was written."""


@contextmanager
def stop_on_signals(*, patient: bool = False) -> Iterator[threading.Event]:
    """While files are processed, SIGINT and SIGTERM only set a flag that the loops check.

    An exception raised straight from a signal handler can land anywhere, even inside the
    pool's fork machinery, where it is swallowed; a flag is checked where stopping is safe.
    A second signal raises at once, unless `patient` (the writes: each is short, and one
    stopped between its rename and its count would be miscounted). Signals that are
    ignored (nohup, some CI runners) stay so.
    """
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and not patient:
            raise KeyboardInterrupt
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if stop.is_set():
        raise Interrupted  # one that came after the block's last look at the flag


def as_child() -> None:
    """In a worker or planning child: Ctrl-C reaches the whole process group, and the
    parent alone decides what happens; SIGTERM ends the child (not the CLI's handler,
    inherited by fork)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now rather than let them finish what they are on."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.kill()  # they only compute; nothing of theirs needs cleaning up
    _join_manager(manager)


def close_pool(pool: ProcessPoolExecutor) -> None:
    """Let the workers go once the run has their results (they are idle)."""
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    _join_manager(manager)


def _join_manager(manager: threading.Thread | None) -> None:
    # The pool's manager thread sees its workers end and closes the queues. Left running,
    # it could still be closing them at interpreter exit, where concurrent.futures' exit
    # hook wakes it through a pipe already closed: "Bad file descriptor", printed after
    # the run's last message. Bounded: a stop stays prompt.
    if manager is not None:
        manager.join(timeout=2)


def gather(futures: Sequence[Future[T]], stop: threading.Event) -> list[T]:
    """The futures' results, in order; Interrupted once `stop` is set (the caller kills
    the workers: see kill_pool)."""
    for future in futures:
        while not wait([future], timeout=0.1).done:
            if stop.is_set():
                raise Interrupted
    return [future.result() for future in futures]
