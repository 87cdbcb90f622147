"""Write the chain engine's daily metrics into the main btcmacro store (``chain/<key>`` series).

After a sync, :func:`publish` computes every daily metric from the chain index (the value matrix
plus the BTC close held in the main store, ``cmc/btc_close``; per-script balances for
``supply_whales_1k`` and, given an address list, ``exchange_balance``) and writes each as the
catalogue series ``chain/<key>`` with ``vintage = tip hash`` and ``provenance = "own node, tip <hash> height
<h>"``; the briefing's own-node variants then pick them up. Besides the 15 matrix metrics these are
supply in profit / loss as percent of supply and the HODL waves, each band of
:data:`~btcmacro.chain.metrics.HODL_BANDS` as ``chain/hodl_<band>_pct`` (percent of supply) and
``chain/hodl_<band>_btc`` (:func:`~btcmacro.chain.metrics.supply_shares`), and the address-balance
cohorts, each band of :data:`~btcmacro.chain.aggregate.BALANCE_BANDS` as
``chain/supply_band_<band>`` (BTC held by scripts in the band) and ``chain/addresses_band_<band>``
(number of scripts with a positive balance in it), from one SQL pass
(:func:`~btcmacro.chain.aggregate.balance_bands`).

:func:`urpd_for_day` and :func:`hodl_for_day` read one day's URPD and HODL waves straight from
the index (prices from the main store, as :func:`publish` uses them); ``btcmacro chain urpd`` and
``btcmacro chain hodl`` print them.

Which days are written
----------------------
Every written day carries the block it was computed up to: the store's ``meta`` table keeps

* ``chain_tip``: ``{"hash", "height", "first_day", "last_day", "prices", "version"}`` of the last
  publish (``prices`` is a digest of the price series used, ``version`` the metric definitions);
* ``chain_days``: ``{day: [height, hash]}``, for each day with blocks the highest block of that
  day (the last block that changed the day's figures).

On the next publish, a day whose recorded ``[height, hash]`` is no longer the index's block at
that height was computed on a branch that a reorg removed. The first such day is the fork day:
that day and every later one are rewritten (a new vintage where the value changed; a day that no
longer exists on the new chain is published as missing, NaN). Days before the fork day are not
touched at all. Without a reorg, the rewrite starts at the previous last day (which was still
filling up). A changed price series or metric version rewrites everything.

The series are written one transaction each (``Store.write_series``) and the two meta keys last:
a crash in between leaves the meta pointing at the older publish, so the next run rewrites from
there (writes are idempotent: an unchanged value adds no row).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pandas as pd

from btcmacro import catalog
from btcmacro.chain.aggregate import (BALANCE_BANDS, Matrix, balance_band_key, balance_bands, band_supply,
                                      build_matrix, scripts_balance)
from btcmacro.chain.index import ChainIndex, Checkpoint
from btcmacro.chain.lifecycle import script_key
from btcmacro.chain.metrics import METRIC_KEYS, daily_metrics_from_matrix, supply, supply_shares
from btcmacro.errors import ChainError, UsageError
from btcmacro.store import Store, WriteResult

if TYPE_CHECKING:
    from btcmacro.chain.engines import Aggregates
    from btcmacro.chain.addresses import AddressList

__all__ = ["publish", "publish_remembering_list", "ADDRESS_LIST_KEY", "PublishResult", "PRICE_SERIES", "TIP_KEY", "DAYS_KEY", "METRICS_VERSION", "METRIC_KEYS", "BAND_EDGES",
           "day_closers", "published_tip", "store_prices", "urpd_for_day", "hodl_for_day"]

PRICE_SERIES = "cmc/btc_close"
TIP_KEY = "chain_tip"
ADDRESS_LIST_KEY = "chain_address_list"  # path of the user's address list, reused by later syncs
DAYS_KEY = "chain_days"
SAT = 100_000_000
WHALE_BTC = 1000.0
#: bump when a metric definition in :mod:`btcmacro.chain.metrics` changes or series are added
#: (forces a full rewrite; unchanged values add no rows). 2: supply in profit/loss % and HODL
#: waves; 3: supply and script count per address-balance band (``supply_band_*``, ``addresses_band_*``)
METRICS_VERSION = 3
#: lower edges (satoshis) of the published address-balance bands (:data:`BALANCE_BANDS`)
BAND_EDGES: list[int] = [lo for _, lo in BALANCE_BANDS]


@dataclass
class PublishResult:
    tip_hash: str
    height: int
    first_day: dt.date | None  # first day (re)written; None if nothing to write
    last_day: dt.date | None
    fork_day: dt.date | None = None  # first day invalidated by a reorg, if any
    removed_days: list[dt.date] = field(default_factory=list)  # now published as missing
    full: bool = False  # everything rewritten (first publish, new prices or metric version)
    written: dict[str, WriteResult] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "tip_hash": self.tip_hash, "height": self.height,
            "first_day": None if self.first_day is None else self.first_day.isoformat(),
            "last_day": None if self.last_day is None else self.last_day.isoformat(),
            "fork_day": None if self.fork_day is None else self.fork_day.isoformat(),
            "removed_days": [d.isoformat() for d in self.removed_days], "full": self.full,
            "new": sum(w.new for w in self.written.values()),
            "revised": sum(w.revised for w in self.written.values()),
        }


def day_closers(index: ChainIndex) -> dict[str, tuple[int, str]]:
    """``{ISO day: (height, hash hex)}``: the highest best-chain block stamped with each day."""
    rows = index.con.execute(
        "SELECT day, max(height) FROM blocks GROUP BY day ORDER BY day").fetchall()
    hashes = dict(index.con.execute(
        "SELECT height, hash FROM blocks WHERE height IN (SELECT max(height) FROM blocks GROUP BY day)"
    ).fetchall())
    return {d.isoformat(): (int(h), bytes(hashes[h])[::-1].hex()) for d, h in rows}


def published_tip(store: Store) -> dict | None:
    """The ``chain_tip`` meta of the last publish into ``store`` (or None)."""
    raw = store.get_meta(TIP_KEY)
    return json.loads(raw) if raw else None


def _price_digest(prices: pd.Series, last_day: dt.date) -> str:
    s = pd.Series(prices, dtype="float64")
    s.index = pd.to_datetime(s.index)
    s = s[s.index <= pd.Timestamp(last_day)].dropna()
    h = hashlib.sha256()
    h.update(np.asarray(s.index.values, dtype="datetime64[D]").astype(np.int64).tobytes())
    h.update(np.asarray(s.to_numpy(), dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


@contextmanager
def _synced_index(index_path) -> Iterator[tuple[Path, ChainIndex, Checkpoint]]:
    """The chain index (default ``$BTCMACRO_HOME/chain.duckdb``) opened read-only with its
    checkpoint; a one-line ChainError if there is none yet or it is empty."""
    from btcmacro.chain.api import default_store_path

    p = Path(index_path) if index_path is not None else default_store_path()
    if not p.exists():
        raise ChainError("no chain index yet: run `btcmacro chain sync` first", where=str(p))
    with ChainIndex(p, read_only=True) as index:
        cp = index.checkpoint()
        if cp is None:
            raise ChainError("the chain index is empty: run `btcmacro chain sync` first", where=str(p))
        yield p, index, cp


def publish(
    store: Store,
    index_path: str | os.PathLike | None = None,
    *,
    prices: pd.Series | None = None,
    matrix: Matrix | None = None,
    extra: dict[str, pd.DataFrame] | None = None,
    addresses: "AddressList | None" = None,
    whale_btc: float = WHALE_BTC,
    aggregates: "Aggregates | None" = None,
) -> PublishResult:
    """Compute the daily chain metrics and write them into ``store`` as ``chain/<key>``.

    Parameters
    ----------
    store
        The main btcmacro store, opened read-write.
    index_path
        The chain index (default ``$BTCMACRO_HOME/chain.duckdb``).
    prices
        Daily BTC close in USD; default ``store.series("cmc/btc_close")`` (latest vintage).
    matrix
        A precomputed matrix of this index (skips the SQL aggregation).
    extra
        Further ``{key: DataFrame(date, value)}`` series computed for the same tip; written
        under the same rules.
    addresses
        A user address list (:func:`btcmacro.chain.addresses.load_address_list`): its daily
        balance is written as ``chain/exchange_balance`` with the list's provenance.
    whale_btc
        Balance threshold of ``chain/supply_whales_1k`` (supply held by scripts with at least
        this many BTC; 1,000 by default). At a band edge it is the sum of the balance bands
        from that edge up; another threshold takes its own pass (``band_supply``).
    aggregates
        What another engine computed (:mod:`btcmacro.chain.engines`: Spark over parquet
        parts, BigQuery over ``crypto_bitcoin``): published through this same path, with its
        provenance (e.g. "BigQuery crypto_bitcoin, through block N (hash)"); no index is read.
        ``whale_btc`` must then be a band edge, and ``addresses`` is not available.

    Returns
    -------
    PublishResult

    Raises
    ------
    ChainError
        The index is empty (nothing synced yet).
    StoreError
        A write failed (that series is unchanged; see the module notes on crashes).
    """
    if aggregates is not None:
        m, closers = aggregates.matrix, aggregates.closers
        whale_sat = int(round(whale_btc * SAT))
        if whale_sat not in BAND_EDGES or addresses is not None:
            raise UsageError("with another engine's aggregates the whale threshold must be a band edge and no "
                             "address list can be used", where="chain publish")
        if m.ndays == 0 or aggregates.tip_height is None:
            raise ChainError(f"{aggregates.provenance}: nothing to publish (no spendable output)", where="chain publish")
        per_script, counts = _band_series(aggregates.bands, whale_sat)
        tip_hex, height, prov, engine = aggregates.tip_hash, aggregates.tip_height, aggregates.provenance, \
            aggregates.engine
    else:
        m, closers, per_script, counts, cp = _index_aggregates(index_path, matrix, addresses, whale_btc)
        tip_hex, height, engine = cp.hash_hex, cp.height, "duckdb"
        prov = f"own node, tip {tip_hex} height {height}"
    return _publish(store, m, closers, per_script, counts, tip_hex, height, prov, engine, prices=prices,
                    extra=extra, addresses=addresses, whale_btc=whale_btc)


def _band_series(bands, whale_sat: int) -> tuple[dict, dict]:
    per_script = {f"supply_band_{balance_band_key(lab)}": bands.supply[i] for i, (lab, _) in enumerate(BALANCE_BANDS)}
    counts = {f"addresses_band_{balance_band_key(lab)}": bands.addresses[i]
              for i, (lab, _) in enumerate(BALANCE_BANDS)}
    per_script["supply_whales_1k"] = bands.supply[BAND_EDGES.index(whale_sat):].sum(axis=0)
    return per_script, counts


def _index_aggregates(index_path, matrix, addresses, whale_btc):
    """The own-node engine: matrix, day closers and per-script series from the chain index."""
    with _synced_index(index_path) as (p, index, cp):
        m = matrix if matrix is not None else build_matrix(index)
        closers = day_closers(index)
        whale_sat = int(round(whale_btc * SAT))
        bands = balance_bands(index, m.days, BAND_EDGES)
        per_script = {f"supply_band_{balance_band_key(lab)}": bands.supply[i]
                      for i, (lab, _) in enumerate(BALANCE_BANDS)}
        counts = {f"addresses_band_{balance_band_key(lab)}": bands.addresses[i]
                  for i, (lab, _) in enumerate(BALANCE_BANDS)}
        # >= whale_btc is the sum of the bands from that edge up (the same numbers as
        # band_supply, tested); another threshold takes its own pass
        per_script["supply_whales_1k"] = (bands.supply[BAND_EDGES.index(whale_sat):].sum(axis=0)
                                          if whale_sat in BAND_EDGES else band_supply(index, m.days, whale_sat))
        if addresses is not None:
            keys = [script_key(x) for x in addresses.scripts]
            per_script["exchange_balance"] = scripts_balance(index, m.days, keys)
    return m, closers, per_script, counts, cp


def _publish(store, m, closers, per_script, counts, tip_hex, height, prov, engine, *, prices, extra, addresses,
             whale_btc) -> PublishResult:
    """The one publishing path: metrics from the matrix, every ``chain/*`` series written."""
    if prices is None:
        prices = store_prices(store)
    frames = daily_metrics_from_matrix(m, prices)
    frames.update(supply_shares(m, frames))
    dates = pd.to_datetime(m.days.astype("datetime64[ns]"))
    for k, sat in per_script.items():
        frames[k] = pd.DataFrame({"date": dates, "value": sat / SAT})
    for k, n in counts.items():
        frames[k] = pd.DataFrame({"date": dates, "value": n.astype(np.float64)})
    for k, f in (extra or {}).items():
        frames[k] = f
    first_day = pd.Timestamp(m.days[0]).date()
    last_day = pd.Timestamp(m.days[-1]).date()
    digest = _price_digest(prices, last_day)

    prev = published_tip(store)
    prev_days = json.loads(store.get_meta(DAYS_KEY) or "{}")
    res = PublishResult(tip_hex, height, None, last_day)
    # prices are compared over the days published last time (a new price day is not a revision)
    same_prices = prev is not None and prev.get("prices") == _price_digest(
        prices, dt.date.fromisoformat(prev["last_day"]))
    list_id = addresses.sha256 if addresses is not None else None
    if not same_prices or prev.get("version") != METRICS_VERSION or prev.get("address_list") != list_id \
            or prev.get("first_day") != first_day.isoformat() or prev.get("engine", "duckdb") != engine:
        start = first_day
        res.full = True
    else:
        bad = [d for d, hv in prev_days.items() if tuple(closers.get(d, ())) != tuple(hv)]
        if bad:
            res.fork_day = dt.date.fromisoformat(min(bad))
        start = min([res.fork_day or dt.date.max, dt.date.fromisoformat(prev["last_day"])])
    prev_last = dt.date.fromisoformat(prev["last_day"]) if prev else None
    if prev_last is not None and prev_last > last_day:
        res.removed_days = [last_day + dt.timedelta(days=i) for i in range(1, (prev_last - last_day).days + 1)]
    res.first_day = start

    band_prov = {}  # each band's balance range, in the provenance
    for i, (lab, lo) in enumerate(BALANCE_BANDS):
        rng = (f"a balance in [{lo / SAT:g}, {BAND_EDGES[i + 1] / SAT:g}) BTC" if i + 1 < len(BAND_EDGES)
               else f"a balance of at least {lo / SAT:g} BTC")
        band_prov[f"supply_band_{balance_band_key(lab)}"] = f"scripts with {rng}"
        band_prov[f"addresses_band_{balance_band_key(lab)}"] = f"scripts with {rng}, counted if above 0"
    for key, f in frames.items():
        sid = f"chain/{key}"
        defn = catalog.SERIES.get(sid)
        if defn is None:  # a metric without a catalogue id (never silently invented)
            continue
        g = f[pd.to_datetime(f["date"]).dt.date >= start][["date", "value"]].copy()
        if res.removed_days:
            gone = pd.DataFrame({"date": pd.to_datetime(res.removed_days), "value": np.nan})
            g = pd.concat([g, gone], ignore_index=True)
        if g.empty:
            continue
        g["published_at"] = g["date"]
        pv = f"{prov}; {addresses.describe()}" if key == "exchange_balance" and addresses is not None else prov
        if key == "supply_whales_1k":
            pv = f"{prov}; scripts holding >= {whale_btc:g} BTC"
        elif key in band_prov:
            pv = f"{prov}; {band_prov[key]}"
        res.written[sid] = store.write_series(defn.meta(provenance=pv), g, vintage=tip_hex)

    keep = {d: hv for d, hv in prev_days.items() if d < start.isoformat()} if not res.full else {}
    keep.update({d: list(hv) for d, hv in closers.items() if d >= start.isoformat() or res.full})
    store.set_meta(DAYS_KEY, json.dumps(keep, separators=(",", ":"), sort_keys=True))
    store.set_meta(TIP_KEY, json.dumps({
        "hash": tip_hex, "height": height, "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(), "prices": digest, "version": METRICS_VERSION,
        "address_list": list_id, "engine": engine, "provenance": prov,
        "published_at": dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None).isoformat(),
    }, sort_keys=True))
    return res


def store_prices(store: Store) -> pd.Series:
    """The daily BTC close :func:`publish` uses: ``cmc/btc_close`` of ``store`` (latest vintage;
    empty if the store has none)."""
    if store.has_series(PRICE_SERIES):
        return store.series(PRICE_SERIES)
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([]))


#: the most URPD buckets a caller may ask for (the dashboard's limit too): more only slices the
#: same coins thinner, and 10^12 buckets would not fit in memory
MAX_URPD_BUCKETS = 1000

# the last index read by _day_matrix: {path: (key, matrix, day closers)}; the key changes with the
# checkpoint and the file, so a sync (or a reorg) is seen at the next call
_MATRIX_CACHE: dict[str, tuple[tuple, Matrix, dict]] = {}


def _day_matrix(day, index_path) -> tuple[Matrix, int, tuple[int, str] | None]:
    """The index's matrix, the index of ``day`` in it and the day's closing block ``(height,
    hash hex)`` (the highest block stamped on or before that day; one-line errors for the CLI).

    The matrix of the last index read is kept while its checkpoint and file are unchanged (one
    per path): building it is the expensive part, and the dashboard asks day after day."""
    from btcmacro.chain.metrics import day_index

    with _synced_index(index_path) as (p, index, cp):
        st = p.stat()
        key = (cp.hash, cp.height, st.st_mtime_ns, st.st_size)
        hit = _MATRIX_CACHE.get(str(p))
        if hit is not None and hit[0] == key:
            m, closers = hit[1], hit[2]
        else:
            m, closers = build_matrix(index), day_closers(index)
            _MATRIX_CACHE.clear()
            _MATRIX_CACHE[str(p)] = (key, m, closers)
    if m.ndays == 0:
        raise ChainError("the chain index holds no spendable outputs yet", where=str(p))
    first, last = pd.Timestamp(m.days[0]).date(), pd.Timestamp(m.days[-1]).date()
    if day is None:
        d = m.ndays - 1
    else:
        from btcmacro.inputs import parse_date

        when = parse_date(day, "--date").date()  # the one strict YYYY-MM-DD parser
        try:
            d = day_index(m, when)
        except ValueError:
            raise UsageError(f"{when.isoformat()} is outside the indexed days {first.isoformat()}..{last.isoformat()}",
                             where="--date") from None
    iso = pd.Timestamp(m.days[d]).date().isoformat()
    upto = [k for k in closers if k <= iso]
    return m, d, (closers[max(upto)] if upto else None)


def _day_attrs(out: pd.DataFrame, m: Matrix, d: int, closer) -> pd.DataFrame:
    out.attrs.update(date=pd.Timestamp(m.days[d]).date().isoformat(), tip_hash=m.tip_hash, height=m.tip_height,
                     supply_btc=int(supply(m)[d]) / SAT,
                     day_height=closer[0] if closer else None, day_tip_hash=closer[1] if closer else None)
    return out


def urpd_for_day(store: Store, day=None, index_path: str | os.PathLike | None = None, *,
                 buckets: int = 100) -> pd.DataFrame:
    """URPD of one day from the chain index, priced with the main store's BTC close.

    Parameters
    ----------
    store
        The main store (read for ``cmc/btc_close``, as :func:`publish` does).
    day
        ``"YYYY-MM-DD"`` or a date; default the last indexed day.
    index_path
        The chain index (default ``$BTCMACRO_HOME/chain.duckdb``).
    buckets
        Number of equal-width price buckets from 0 USD to the highest creation price held.

    Returns
    -------
    pandas.DataFrame
        ``price_low``, ``price_high``, ``btc`` (see :func:`btcmacro.chain.api.urpd`); ``attrs``
        hold ``date``, ``tip_hash``, ``height`` (the index's tip), ``day_height`` and
        ``day_tip_hash`` (the last block stamped on or before the day: what the figures
        depend on) and ``supply_btc`` (the day's supply, from the matrix's creations and
        spends; ``btc`` sums to it).

    Raises
    ------
    ChainError
        No index, or an empty one.
    UsageError
        ``day`` is not a date or outside the indexed days, or ``buckets`` is not from 1 to
        :data:`MAX_URPD_BUCKETS` (1000).

    References
    ----------
    Glassnode Academy, "UTXO Realized Price Distribution (URPD)".
    """
    from btcmacro.chain import api

    if isinstance(buckets, bool) or not 1 <= int(buckets) <= MAX_URPD_BUCKETS:
        raise UsageError(f"the bucket count must be a whole number from 1 to {MAX_URPD_BUCKETS} (got {buckets})",
                         where="--buckets")
    m, d, closer = _day_matrix(day, index_path)
    return _day_attrs(api.urpd(d, store_prices(store), buckets=int(buckets), matrix=m), m, d, closer)


def hodl_for_day(day=None, index_path: str | os.PathLike | None = None) -> pd.DataFrame:
    """HODL waves of one day from the chain index (:func:`btcmacro.chain.metrics.hodl_on_day`).

    Returns
    -------
    pandas.DataFrame
        ``band``, ``key``, ``age_from_days``, ``age_to_days``, ``btc``, ``pct``; ``attrs`` hold
        ``date``, ``tip_hash``, ``height``, ``day_height``, ``day_tip_hash`` (as
        :func:`urpd_for_day`) and ``supply_btc``.

    Raises
    ------
    ChainError
        No index, or an empty one.
    UsageError
        ``day`` is not a date or outside the indexed days.

    References
    ----------
    Bansal, Unchained Capital (2018): HODL waves, supply by time since coins last moved.
    """
    from btcmacro.chain.metrics import hodl_on_day

    m, d, closer = _day_matrix(day, index_path)
    return _day_attrs(hodl_on_day(m, d), m, d, closer)


def publish_remembering_list(store: Store, index_path=None, addresses: "AddressList | None" = None
                             ) -> tuple[PublishResult, list[str]]:
    """:func:`publish`, reusing the address list of an earlier sync when none is given.

    The list's path is kept in the store's meta (``chain_address_list``). If that file can no
    longer be read, the other series are still published and a note says why
    ``exchange_balance`` was not updated. Returns the result and those notes.
    """
    from btcmacro.chain.addresses import load_address_list
    from btcmacro.errors import BtcmacroError

    notes: list[str] = []
    remembered = store.get_meta(ADDRESS_LIST_KEY)
    if addresses is None and remembered:
        try:
            addresses = load_address_list(remembered)
        except BtcmacroError as e:
            notes.append(f"exchange balance not updated: {e}")
    res = publish(store, index_path, addresses=addresses)
    if addresses is not None and addresses.path:
        store.set_meta(ADDRESS_LIST_KEY, addresses.path)
    return res, notes
