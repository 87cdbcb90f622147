"""Who holds a lock on a file, without opening it (Linux ``/proc/locks``).

Used by the dashboard (is an update or a sync writing the store or the index right now?) and by
``update`` (which process runs the other update?). Opening the file to find out could disturb the
POSIX locks this process holds, so the kernel's lock table is read instead.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_lock_holder(path: str | Path, kind: str = "POSIX") -> int | None:
    """PID of another process holding a POSIX write lock on ``path`` (Linux ``/proc/locks``);
    ``kind="FLOCK"`` asks for an exclusive ``flock`` instead (``update``'s guard).

    DuckDB's read-write open takes such a lock on the whole file, so this tells -- without
    opening the file, which could disturb the locks this process holds -- whether an update is
    running. ``None`` when no other process holds one, or where ``/proc/locks`` does not exist.
    """
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    me = os.getpid()
    for line in text.splitlines():
        parts = line.split()
        # "1: POSIX  ADVISORY  WRITE 10289 fe:00:2147732 0 EOF" ("->" marks a blocked waiter);
        # only POSIX locks are DuckDB's (update's FLOCK guard is held while it merely downloads)
        if len(parts) >= 6 and parts[1] == kind and parts[3] == "WRITE" and parts[5] == dev:
            try:
                pid = int(parts[4])
            except ValueError:
                continue
            if pid != me:
                return pid
    return None
