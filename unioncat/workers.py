"""Worker processes that end with the process that started them.

A process pool's workers wait on a pipe that they hold open themselves, so when the process
that owns the pool is killed (``kill -9``, the kernel's out-of-memory killer on a big nightly
run) they are adopted by init and wait for ever, each holding its memory and its store
connection (under a fork server, the server waits for its workers as well).  Each worker here
watches its owner through a Linux pidfd, in a thread that sleeps until the owner is gone, and
then ends; elsewhere nothing changes.
"""
from __future__ import annotations

import multiprocessing.context
import os
import select
import threading
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any, Callable


def watch_owner(owner: int) -> None:
    """End this process when process ``owner`` ends (Linux 5.3 and later; a no-op elsewhere)."""
    if not hasattr(os, "pidfd_open"):
        return
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:  # gone already
        os._exit(1)
    except OSError:  # a kernel without pidfds
        return

    def wait() -> None:
        select.select([fd], [], [])  # readable once the owner has exited
        os._exit(1)

    threading.Thread(target=wait, name="owner-watch", daemon=True).start()


def _start(owner: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    watch_owner(owner)
    if initializer is not None:
        initializer(*initargs)


def pool(workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
         mp_context: multiprocessing.context.BaseContext | None = None) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers do not outlive the process that started them."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp_context,
                               initializer=partial(_start, os.getpid(), initializer, initargs))
