"""A synthetic chain written twice: as a chain index (the own-node engine's tables) and as the
four tables of BigQuery's public ``crypto_bitcoin`` dataset, for the engine equality tests.

400 days, two blocks a day (one block stamped a day before its parent, as block timestamps
allow), coinbases paying a pool of 40 scripts, and transactions spending coins of every age up
to the whole history (hundreds of days), with OP_RETURN outputs and one oversized script (both
unspendable: never created, never in the flows). Fixed seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random

import numpy as np
import pandas as pd

SAT = 100_000_000
DAYS = 400
PER_DAY = 2
START = dt.datetime(2015, 3, 1, tzinfo=dt.UTC)
EARLY_BLOCK = 301  # stamped the day before its parent


def _h(*parts) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


def build(seed: int = 7, days: int = DAYS):
    rng = random.Random(seed)
    scripts = [b"\x76\xa9\x14" + _h("s", i)[:20] + b"\x88\xac" for i in range(40)]
    big = b"\x51" * 10_001
    utxo: list[tuple[bytes, int, int, bytes, int]] = []  # (txid, vout, value, script, height)
    blocks, outs, ins = [], [], []
    for height in range(days * PER_DAY):
        day, k = divmod(height, PER_DAY)
        t = START + dt.timedelta(days=day, hours=6 + 12 * k)
        if height == EARLY_BLOCK:
            t -= dt.timedelta(days=1)
        bh = _h("b", height)
        blocks.append((height, bh, t))
        txs = []
        cb = _h("cb", height)
        pay = [(rng.choice([50 * SAT, 25 * SAT, rng.randrange(1, 2000) * SAT // 10]), rng.choice(scripts))]
        if height % 7 == 0:
            pay.append((0, b"\x6a\x04abcd"))  # OP_RETURN
        if height == 150:
            pay.append((3 * SAT, big))  # over 10,000 bytes: unspendable
        txs.append((cb, [], pay))
        for j in range(rng.randrange(0, 4) if utxo else 0):
            picks = rng.sample(range(len(utxo)), min(len(utxo), rng.randrange(1, 4)))
            spent = [utxo[i] for i in picks]
            for i in sorted(picks, reverse=True):
                utxo.pop(i)
            total = sum(c[2] for c in spent)
            fee = min(total // 100, 10_000)
            left = total - fee
            outs_j = []
            for _ in range(rng.randrange(1, 4)):
                v = left if _ == 2 else rng.randrange(0, left + 1)
                outs_j.append((v, rng.choice(scripts)))
                left -= v
            if left:
                outs_j.append((left, rng.choice(scripts)))
            if j == 1:
                outs_j.append((0, b"\x6a"))
            txs.append((_h("tx", height, j), spent, outs_j))
        for txid, spent, pay in txs:
            for i, c in enumerate(spent):
                ins.append(dict(transaction_hash=txid.hex(), block_number=height, block_timestamp=t, index=i,
                                spent_transaction_hash=c[0].hex(), spent_output_index=c[1], value=c[2],
                                script_hex=_h("sig", txid, i)[:8].hex(), spent_script=c[3], spent_height=c[4]))
            if not spent:  # the coinbase input, as the dataset lists it (no previous output)
                ins.append(dict(transaction_hash=txid.hex(), block_number=height, block_timestamp=t, index=0,
                                spent_transaction_hash=None, spent_output_index=None, value=None,
                                script_hex="03" + height.to_bytes(3, "little").hex(), spent_script=None,
                                spent_height=None))
            for i, (v, s) in enumerate(pay):
                outs.append(dict(transaction_hash=txid.hex(), block_number=height, block_timestamp=t, index=i,
                                 script_hex=s.hex(), value=v, script=s))
                if s[:1] != b"\x6a" and len(s) <= 10_000:
                    utxo.append((txid, i, v, s, height))
    return blocks, outs, ins


def _day(t: dt.datetime) -> dt.date:
    return t.astimezone(dt.UTC).date()


def write_index(path, chain, upto: int | None = None) -> None:
    """Fill a new chain index at ``path`` with the chain's blocks ``0..upto`` (default all)."""
    from btcmacro.chain.index import ChainIndex, Checkpoint
    from btcmacro.chain.lifecycle import script_key_int

    blocks, outs, ins = chain
    top = len(blocks) - 1 if upto is None else upto
    bl = pd.DataFrame([dict(height=h, hash=bh, prev_hash=(blocks[h - 1][1] if h else b"\0" * 32),
                            time=int(t.timestamp()), day=_day(t), tx_count=1, size=1, weight=4, n_in=0, n_out=0)
                       for h, bh, t in blocks if h <= top])
    created: dict[int, list[int]] = {}
    spends: dict[tuple[int, int], list[int]] = {}
    flows: dict[tuple[int, int], int] = {}
    for o in outs:
        s, h = o["script"], o["block_number"]
        if h > top or s[:1] == b"\x6a" or len(s) > 10_000:
            continue
        c = created.setdefault(h, [0, 0])
        c[0] += o["value"]
        c[1] += 1
        k = (h, script_key_int(s))
        flows[k] = flows.get(k, 0) + o["value"]
    for i in ins:
        h = i["block_number"]
        if h > top or i["spent_script"] is None:
            continue
        c = spends.setdefault((h, i["spent_height"]), [0, 0])
        c[0] += i["value"]
        c[1] += 1
        k = (h, script_key_int(i["spent_script"]))
        flows[k] = flows.get(k, 0) - i["value"]
    cr = pd.DataFrame([dict(height=h, value=v, n=n) for h, (v, n) in sorted(created.items())])
    sp = pd.DataFrame([dict(spend_height=a, create_height=b, value=v, n=n) for (a, b), (v, n) in sorted(spends.items())])
    fl = pd.DataFrame([dict(height=h, key=str(k), delta=d) for (h, k), d in sorted(flows.items()) if d])
    with ChainIndex(path) as ix:
        con = ix.con
        con.register("_b", bl)
        con.execute("INSERT INTO blocks SELECT height, hash, prev_hash, time, day, tx_count, size, weight, n_in, n_out FROM _b")
        con.register("_c", cr)
        con.execute("INSERT INTO created SELECT height, value, n FROM _c")
        con.register("_s", sp)
        con.execute("INSERT INTO spends SELECT spend_height, create_height, value, n FROM _s")
        con.register("_f", fl)
        con.execute("INSERT INTO flow_rows SELECT height, CAST(key AS UHUGEINT), delta FROM _f")
        ix.set_checkpoint(Checkpoint(top, blocks[top][1], "synthetic", "synthetic", "coinmap"))


def fill_crypto_bitcoin(con, chain, catalog: str = "bigquery-public-data") -> None:
    """Create ``"<catalog>".crypto_bitcoin.{blocks,transactions,inputs,outputs}`` in a DuckDB
    connection with the public dataset's column names and types (values NUMERIC, times
    TIMESTAMP, the month partition column)."""
    blocks, outs, ins = chain
    con.execute(f"ATTACH ':memory:' AS \"{catalog}\"")
    con.execute(f"CREATE SCHEMA \"{catalog}\".crypto_bitcoin")
    ds = f"\"{catalog}\".crypto_bitcoin"
    b = pd.DataFrame([dict(hash=bh[::-1].hex(), number=h, timestamp=pd.Timestamp(t).tz_convert(None),
                           timestamp_month=dt.date(t.year, t.month, 1)) for h, bh, t in blocks])
    o = pd.DataFrame([{k: v for k, v in x.items() if k != "script"} for x in outs])
    i = pd.DataFrame([{k: v for k, v in x.items() if k not in ("spent_script", "spent_height")} for x in ins])
    for f in (o, i):
        f["block_timestamp"] = pd.to_datetime(f["block_timestamp"], utc=True).dt.tz_convert(None)
        f["block_timestamp_month"] = f["block_timestamp"].dt.to_period("M").dt.to_timestamp().dt.date
        f["block_hash"] = [blocks[h][1][::-1].hex() for h in f["block_number"]]
    con.register("_b", b)
    con.execute(f"CREATE TABLE {ds}.blocks AS SELECT hash, number, timestamp::TIMESTAMP AS timestamp, "
                f"timestamp_month::DATE AS timestamp_month FROM _b")
    con.register("_o", o)
    con.execute(f"CREATE TABLE {ds}.outputs AS SELECT transaction_hash, block_hash, block_number, "
                f"block_timestamp::TIMESTAMP AS block_timestamp, block_timestamp_month::DATE AS block_timestamp_month, "
                f"index, script_hex, 'pubkeyhash' AS type, CAST(value AS DECIMAL(38, 9)) AS value FROM _o")
    con.register("_i", i)
    con.execute(f"CREATE TABLE {ds}.inputs AS SELECT transaction_hash, block_hash, block_number, "
                f"block_timestamp::TIMESTAMP AS block_timestamp, block_timestamp_month::DATE AS block_timestamp_month, "
                f"index, spent_transaction_hash, CAST(spent_output_index AS BIGINT) AS spent_output_index, script_hex, "
                f"CAST(value AS DECIMAL(38, 9)) AS value FROM _i")
    con.execute(f"CREATE TABLE {ds}.transactions AS SELECT DISTINCT transaction_hash AS hash, block_number FROM _o")
    for t in ("_b", "_o", "_i"):
        con.unregister(t)


def reference_cells(chain, upto: int | None = None) -> dict[tuple[str, str], list[int]]:
    """(creation day, spending day) -> [satoshis, coins], by a loop over the inputs (the spend
    is dated no earlier than the creation day)."""
    blocks, _, ins = chain
    top = len(blocks) - 1 if upto is None else upto
    out: dict = {}
    for i in ins:
        if i["spent_script"] is None or i["block_number"] > top:
            continue
        c = _day(blocks[i["spent_height"]][2])
        s = max(c, _day(blocks[i["block_number"]][2]))
        cell = out.setdefault((c.isoformat(), s.isoformat()), [0, 0])
        cell[0] += i["value"]
        cell[1] += 1
    return out


def cells(m) -> dict[tuple[str, str], list[int]]:
    d = np.datetime_as_string(m.days)
    return {(d[c], d[s]): [int(v), int(n)] for c, s, v, n in zip(m.c, m.s, m.value, m.n)}


def write_prices(st, days: int = DAYS) -> None:
    """A BTC close for every day of the chain (rising, then falling: profits and losses)."""
    from btcmacro import catalog

    idx = pd.date_range(START.date(), periods=days, freq="D")
    v = np.r_[np.linspace(200, 1200, days // 2), np.linspace(1200, 300, days - days // 2)]
    st.write_series(catalog.get("cmc/btc_close").meta("synthetic test prices"),
                    pd.DataFrame({"date": idx, "value": v, "published_at": idx}))


def published(st) -> dict[str, pd.Series]:
    """Every chain/* series in a store (latest vintage)."""
    ids = [r[0] for r in st.con.execute(
        "SELECT DISTINCT series_id FROM obs WHERE series_id LIKE 'chain/%' ORDER BY 1").fetchall()]
    return {i: st.series(i) for i in ids}


def provenance(st, sid: str) -> str:
    return st.con.execute("SELECT provenance FROM series WHERE series_id = ?", [sid]).fetchall()[0][0]


def assert_same_aggregates(a, b) -> None:
    for f in ("days", "c", "s", "value", "n", "created", "created_n"):
        assert np.array_equal(getattr(a.matrix, f), getattr(b.matrix, f)), f
    assert a.matrix.tip_height == b.matrix.tip_height and a.matrix.tip_hash == b.matrix.tip_hash
    assert np.array_equal(a.bands.supply, b.bands.supply)
    assert np.array_equal(a.bands.addresses, b.bands.addresses)
    assert a.closers == b.closers


def assert_same_series(x: dict, y: dict) -> None:
    assert sorted(x) == sorted(y) and len(x) > 60
    for k in x:
        pd.testing.assert_series_equal(x[k], y[k], check_exact=True, obj=k)
