"""One push at a time per Marketo instance on this machine (see identity.py for why).

The lock is an advisory ``flock`` on a file in the state directory: the operating system releases it
when its holder ends, even by SIGKILL, so there is no stale lock to clean up and no window in which
two starting pushes can both believe they hold it.
"""
from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from typing import IO


class PushAlreadyRunning(RuntimeError):
    pass


class RunLock:
    def __init__(self, directory: Path, base_url: str) -> None:
        name = re.sub(r"[^A-Za-z0-9.-]+", "_", base_url.split("://", 1)[-1]).strip("_")
        self.path = directory / f"push-{name}.lock"
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise PushAlreadyRunning(
                f"another push (process {holder}) is running against this Marketo instance; "
                f"two pushes at once could create the same new person twice ({self.path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
