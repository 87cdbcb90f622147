"""User inputs checked once, the same way everywhere: dates and the files btcmacro writes.

Dates
    :func:`parse_date` is the one date parser of the CLI, the library API (``btcmacro.series``,
    ``btcmacro.briefing``) and the dashboard. A date is a calendar day written ``YYYY-MM-DD``
    (``2025-12-09``); ``20251209``, ``2025``, ``Dec 9 2025``, an empty string, ``NaT``, an
    impossible day (``2025-02-30``) and a date-time with a time zone are refused with one
    :class:`~btcmacro.errors.UsageError` naming the option. Library callers may also pass a
    ``datetime.date`` or a time-zone-naive ``datetime``/``pandas.Timestamp`` (its day is used).
    :func:`parse_range` adds the rule that a start may not lie after its end.

Output files
    :func:`output_file` checks a path the user named for btcmacro to write (``brief --out``, the
    Markdown chart folder next to it, ``analyze --out``) before anything is computed or written,
    and :func:`write_atomic` writes it: a temp file in the same directory, flushed, then moved
    over the target with ``os.replace``. Only regular files are written. A directory, a device
    (``/dev/full``), a FIFO or a socket is refused with one line; a missing parent directory is
    refused too (btcmacro does not create directories the user did not ask for, except the
    Markdown chart folder that belongs to the briefing). A **symbolic link is followed**: the
    file it points to is replaced and the link itself is kept; a link to a missing file, to a
    directory or to a device is refused like its target would be.

Store and index files
    :func:`store_file` checks a ``--store`` or ``--index`` path before the database engine opens
    it: an existing path must be a regular file (links followed); a new one needs a directory
    btcmacro may write into. Whether an existing file is a btcmacro store is checked by the store
    itself.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd

from .errors import UsageError

__all__ = ["DATE_FORMAT", "printable", "parse_date", "parse_range", "output_file", "output_dir", "write_atomic",
           "write_text_atomic", "store_file"]

#: the one accepted way of writing a date
DATE_FORMAT = "YYYY-MM-DD"
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: the calendar range a pandas Timestamp can hold (ns precision)
_MIN, _MAX = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")


def printable(text) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x1e``, ``\\u2028``), so
    that a file name or value quoted in an error keeps the error on one line."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


# ----------------------------------------------------------------------------------------------
# dates
# ----------------------------------------------------------------------------------------------


def parse_date(value, name: str = "--as-of") -> pd.Timestamp | None:
    """A calendar day as a midnight ``pandas.Timestamp`` (``None`` stays ``None``).

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, pandas.Timestamp or None
        A string must be exactly ``YYYY-MM-DD`` and a real calendar day. Date-times must be
        time-zone naive; their day is kept, the time of day dropped.
    name : str
        The option or parameter the value came from, named in the error (``--as-of``).

    Raises
    ------
    UsageError
        Anything else: one line naming ``name``, the value and the expected form.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip() == "":
            raise UsageError(f"the date is empty (expected {DATE_FORMAT})", where=name)
        shown = value if len(value) <= 40 else value[:37] + "..."
        if not _DATE_RE.fullmatch(value):
            raise UsageError(f"not a date: {shown!r} (expected {DATE_FORMAT}, e.g. 2025-12-09)", where=name)
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{value} is not a day of the calendar (expected {DATE_FORMAT})", where=name) from None
        return _in_range(pd.Timestamp(day), value, name)
    if value is pd.NaT or (isinstance(value, float) and value != value):
        raise UsageError(f"not a date: NaT (expected {DATE_FORMAT})", where=name)
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        if value.tzinfo is not None:
            raise UsageError(f"{value} carries a time zone; give the calendar day as {DATE_FORMAT}", where=name)
        return _in_range(pd.Timestamp(value).normalize(), str(value), name)
    if isinstance(value, dt.date):
        return _in_range(pd.Timestamp(value), value.isoformat(), name)
    import numpy as np

    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise UsageError(f"not a date: NaT (expected {DATE_FORMAT})", where=name)
        return parse_date(pd.Timestamp(value), name)
    raise UsageError(f"not a date: a {type(value).__name__} (expected {DATE_FORMAT})", where=name)


def _in_range(ts: pd.Timestamp, shown: str, name: str) -> pd.Timestamp:
    if not (_MIN <= ts <= _MAX):
        raise UsageError(f"{shown} is outside the supported years "
                         f"{_MIN.year}-{_MAX.year}", where=name)
    return ts


def parse_range(start, end, names: tuple[str, str] = ("--start", "--end")
                ) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``(start, end)`` through :func:`parse_date`, refusing a start after the end."""
    s, e = parse_date(start, names[0]), parse_date(end, names[1])
    if s is not None and e is not None and s > e:
        raise UsageError(f"{s.date()} is after {names[1]} {e.date()} (the start must not come after the end)",
                         where=names[0])
    return s, e


# ----------------------------------------------------------------------------------------------
# output files
# ----------------------------------------------------------------------------------------------

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, what in _KINDS:
        if test(mode):
            return what
    return "not a regular file"


def _stat(p: Path, name: str) -> os.stat_result | None:
    """``os.stat`` (links followed), None when nothing is there; other failures are one line."""
    try:
        return os.stat(p)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise UsageError("a part of this path is a file, not a directory", where=f"{name} {printable(p)}") from None
    except PermissionError:
        raise UsageError("permission denied while looking up this path", where=f"{name} {printable(p)}") from None
    except OSError as e:
        raise UsageError(f"cannot use this path ({e.strerror or e})", where=f"{name} {printable(p)}") from None


def _follow(p: Path, name: str) -> Path:
    """``p`` with a symbolic link in its last part replaced by what it points to (refused if dangling)."""
    if not p.is_symlink():
        return p
    try:
        real = p.resolve(strict=True)
    except (OSError, RuntimeError):
        raise UsageError("is a symbolic link to a file that does not exist (links are followed; "
                         "name the file itself)", where=f"{name} {printable(p)}") from None
    return real


def _check_parent(p: Path, name: str, *, create: bool = False) -> None:
    parent = p.parent
    st = _stat(parent, name)
    if st is None and create:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create the directory {printable(parent)} ({e.strerror or e})", where=f"{name} {printable(p)}") from None
        st = _stat(parent, name)
    if st is None:
        raise UsageError(f"the directory {printable(parent)} does not exist", where=f"{name} {printable(p)}")
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{printable(parent)} is not a directory", where=f"{name} {printable(p)}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"no permission to write in {printable(parent)}", where=f"{name} {printable(p)}")


def output_file(path: str | os.PathLike, name: str = "--out") -> Path:
    """The file to write for a user-named output path, checked before anything is written.

    Returns the path itself, or the file a symbolic link points to. Refuses (one
    :class:`UsageError` line naming ``name`` and the path) a directory, a device, a FIFO, a
    socket, a dangling link, a missing or non-directory parent, and a parent btcmacro may not
    write into.
    """
    p = _follow(Path(path).expanduser(), name)
    st = _stat(p, name)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UsageError(f"is {_kind(st.st_mode)}; btcmacro writes only regular files", where=f"{name} {printable(p)}")
    _check_parent(p, name)
    return p


def output_dir(path: str | os.PathLike, name: str = "--out") -> Path:
    """A folder btcmacro fills with files it owns (the Markdown chart folder): an existing
    directory (links followed) or a new one in a writable directory; created here."""
    p = _follow(Path(path).expanduser(), name)
    st = _stat(p, name)
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise UsageError(f"is {_kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}; "
                             "a folder for the charts is needed here", where=f"{name} {printable(p)}")
        if not os.access(p, os.W_OK | os.X_OK):
            raise UsageError("no permission to write in this folder", where=f"{name} {printable(p)}")
        return p
    _check_parent(p, name)
    try:
        p.mkdir()
    except OSError as e:
        raise UsageError(f"cannot create this folder ({e.strerror or e})", where=f"{name} {printable(p)}") from None
    return p


def write_atomic(target: str | os.PathLike, produce: Callable[[Path], None], name: str = "--out") -> Path:
    """Check ``target`` (:func:`output_file`), let ``produce(tmp)`` write a temp file next to it,
    then move the temp file over it with ``os.replace``; return the path written.

    An operating-system failure while writing (disk full, permission) is one
    :class:`UsageError` line naming the file; the temp file is removed and the old file is left
    as it was.
    """
    p = output_file(target, name)
    try:
        # the temp name stays short enough for any target name the file system allows
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:64]}.", suffix=".tmp", dir=p.parent)
    except OSError as e:
        raise UsageError(f"cannot create a file in {printable(p.parent)} ({e.strerror or e}); nothing was written",
                         where=f"{name} {printable(p)}") from None
    os.close(fd)
    try:
        produce(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
        try:
            mode = stat.S_IMODE(os.stat(p).st_mode)  # keep an existing file's permissions
        except FileNotFoundError:
            pass
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except OSError as e:
        _unlink(tmp)
        raise UsageError(f"cannot write this file ({e.strerror or e}); the previous file, if any, is unchanged",
                         where=f"{name} {printable(p)}") from None
    except BaseException:
        _unlink(tmp)
        raise
    return p


def write_text_atomic(target: str | os.PathLike, text: str, name: str = "--out") -> Path:
    """:func:`write_atomic` for UTF-8 text (``\\n`` line ends), flushed to disk before the move."""

    def produce(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    return write_atomic(target, produce, name)


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


# ----------------------------------------------------------------------------------------------
# store and index files
# ----------------------------------------------------------------------------------------------


def store_file(path: str | os.PathLike, name: str = "--store", *, create_parent: bool = False) -> Path:
    """Check a store or chain-index path before the database opens it; return it unchanged.

    An existing path (links followed) must be a regular file. A new one must lie in an existing,
    writable directory; with ``create_parent`` (the default location under ``$BTCMACRO_HOME``)
    missing directories are created first.
    """
    p = Path(path).expanduser()
    if str(p) == ":memory:":
        return p
    real = _follow(p, name)
    st = _stat(real, name)
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"is {_kind(st.st_mode)}, not a database file", where=f"{name} {printable(p)}")
        return p
    _check_parent(real, name, create=create_parent)
    return p
