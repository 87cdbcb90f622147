"""The embedded snapshot: real public data shipped inside the package.

``load("fred/WALCL")`` returns the series as a DataFrame (``date``, ``value``) after checking its
sha256 against ``manifest.csv``; a damaged or missing file is a :class:`~btcmacro.errors.DataError`
naming it. ``install_into(store)`` loads every series into a store once (idempotent: the store
remembers the snapshot's ``data_version``). Built by ``scripts/build_snapshot.py`` from
the real-data collection's CSVs; provenance (repository, path, commit) is in the manifest.
"""

from __future__ import annotations

import csv
import hashlib
from functools import lru_cache
from importlib import resources

from ..errors import DataError


def _root():
    return resources.files(__name__)


@lru_cache(maxsize=1)
def manifest() -> dict[str, dict]:
    """series_id -> manifest row (file, rows, first/last date, sha256, provenance)."""
    try:
        text = _root().joinpath("manifest.csv").read_text("utf-8")
    except FileNotFoundError:
        raise DataError("snapshot manifest missing; reinstall btcmacro", where="btcmacro/data/manifest.csv") from None
    return {r["series_id"]: r for r in csv.DictReader(text.splitlines())}


@lru_cache(maxsize=1)
def data_version() -> str:
    """A short digest of the manifest: changes whenever any snapshot file changes."""
    text = _root().joinpath("manifest.csv").read_bytes()
    last = max(r["last_date"] for r in manifest().values())
    return f"snapshot-{last}-{hashlib.sha256(text).hexdigest()[:10]}"


def _read_verified(series_id: str) -> bytes:
    row = manifest().get(series_id)
    if row is None:
        raise DataError("not in the embedded snapshot", where=series_id)
    ref = _root().joinpath(row["file"])
    try:
        raw = ref.read_bytes()
    except FileNotFoundError:
        raise DataError("snapshot file missing; reinstall btcmacro", where=f"btcmacro/data/{row['file']}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != row["sha256"]:
        raise DataError(
            f"snapshot file damaged: sha256 {digest[:12]}… expected {row['sha256'][:12]}…; reinstall btcmacro",
            where=f"btcmacro/data/{row['file']}",
        )
    return raw


def load(series_id: str):
    """One snapshot series as a DataFrame with ``date`` (datetime64) and ``value`` (float)."""
    import io

    import pandas as pd

    raw = _read_verified(series_id)
    try:
        df = pd.read_parquet(io.BytesIO(raw))
    except Exception as e:  # pyarrow raises several types for a bad file
        raise DataError(f"snapshot file unreadable ({e})", where=f"btcmacro/data/{manifest()[series_id]['file']}") from None
    df["date"] = pd.to_datetime(df["date"])
    df["value"] = df["value"].astype("float64")
    return df


def verify_all() -> list[str]:
    """Re-hash every snapshot file; returns the ids checked (raises on the first bad one)."""
    for sid in manifest():
        _read_verified(sid)
    return list(manifest())


def install_into(store, *, force: bool = False, published_by=None) -> int:
    """Load every snapshot series into ``store`` with release-rule publication dates.

    Skips the work when the store already holds this snapshot version. Returns the number of
    series written. ``published_by`` (a date) keeps only observations published by then: the
    store as it would have looked on that day (used by the no-look-ahead tests).
    """
    import pandas as pd

    from .. import catalog
    from ..releases import published_dates

    version = data_version()
    if not force and store.get_meta("snapshot_version") == version:
        return 0
    n = 0
    for sid, row in manifest().items():
        df = load(sid)
        defn = catalog.get(sid)
        if "published_at" not in df.columns:  # event series carry their own publication days
            df["published_at"] = published_dates(defn.release, df["date"]).to_numpy()
        else:
            df["published_at"] = pd.to_datetime(df["published_at"])
        if published_by is not None:
            df = df[df["published_at"] <= pd.Timestamp(published_by)]
        store.write_series(defn.meta(provenance=row["provenance"]), df, vintage=version)
        n += 1
    store.set_meta("snapshot_version", version if published_by is None else f"{version}@{published_by}")
    return n
