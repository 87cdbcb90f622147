"""Write a chain index's tables as the parquet parts the Spark engine reads.

``btcmacro chain export-parts --out DIR`` gives a cluster the same four tables the parallel
sync's workers write (``blocks``, ``created``, ``spends``, ``flows``; script keys as the uint64
halves ``key_hi``/``key_lo``), one file each, to copy to HDFS, S3 or GCS. The folder appears
whole or not at all (written beside it under a temporary name, then renamed).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from btcmacro.errors import ChainError, UsageError

__all__ = ["export_parts", "EXPORT_SQL"]

_MASK = "18446744073709551615"
#: table -> SELECT over the index (the columns of the workers' parts)
EXPORT_SQL = {
    "blocks": "SELECT height, hash, day FROM blocks ORDER BY height",
    "created": "SELECT height, value, n FROM created ORDER BY height",
    "spends": "SELECT spend_height, create_height, value, n FROM spends ORDER BY spend_height",
    "flows": (f"SELECT height, CAST(script_key >> 64 AS UBIGINT) AS key_hi, "
              f"CAST(script_key & {_MASK}::UHUGEINT AS UBIGINT) AS key_lo, delta FROM flows"),
}


def export_parts(index, out: str | os.PathLike) -> dict[str, int]:
    """Write ``<out>/<table>-index.parquet`` for the four tables; returns rows per table.

    Raises
    ------
    UsageError
        ``out`` exists and is not an empty folder (nothing is overwritten).
    ChainError
        The index is empty, or the folder cannot be written (nothing is left behind).
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError("exists and is not an empty folder; give a new folder for the parts", where=str(out))
    if index.checkpoint() is None:
        raise ChainError("the chain index is empty: run `btcmacro chain sync` first", where=str(index.path))
    parent = out.parent if str(out.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as e:
        raise ChainError(f"cannot write the parts: {e.strerror}", where=str(out)) from None
    counts = {}
    try:
        for t, sql in EXPORT_SQL.items():
            f = str(tmp / f"{t}-index.parquet").replace("'", "''")
            index.con.execute(f"COPY ({sql}) TO '{f}' (FORMAT parquet)")
            counts[t] = int(index.con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchall()[0][0])
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ChainError(f"cannot write the parts: {e.strerror or e}", where=str(out)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts
