"""Reference twins (STYLE A3): slow, obviously-correct per-UTXO loops vs the matrix path.

* Real chain: blocks 0-255 parsed by **python-bitcoinlib** (an independent parser) into a plain
  dict UTXO map, then every metric computed coin by coin, day by day. Integer prices make every
  USD sum exact in float64, so the comparison is exact equality.
* Synthetic chain: random coins (fixed seed); satoshi metrics exactly equal, USD metrics to
  1e-12 relative (float sums in another order).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from _chainhelp import write_blk

from btcmacro.chain import api
from btcmacro.chain import metrics as M
from btcmacro.chain.synth import Coin, matrix_from_coins, random_coins

SAT = 10**8


def reference_metrics(coins: list[Coin], prices: np.ndarray, ndays: int) -> dict[str, list]:
    """Per-coin, per-day loops with no vectorisation and no shared code with metrics.py."""
    out = {k: [] for k in M.METRIC_KEYS}
    for d in range(ndays):
        P = prices[d]
        sup = rc = sip = sil = sth = lth = sth_usd = lth_usd = 0
        prof = loss = num = den = sth_num = sth_den = lth_num = lth_den = cdd = 0
        for k in coins:
            alive = k.created <= d and (k.spent is None or k.spent > d)
            if alive:
                sup += k.value
                rc += k.value / SAT * prices[k.created]
                if prices[k.created] < P:
                    sip += k.value
                elif prices[k.created] > P:
                    sil += k.value
                if d - k.created < 155:
                    sth += k.value
                    sth_usd += k.value / SAT * prices[k.created]
                else:
                    lth += k.value
                    lth_usd += k.value / SAT * prices[k.created]
            if k.spent == d:
                btc = k.value / SAT
                gain = (P - prices[k.created]) * btc
                prof += max(gain, 0.0)
                loss += max(-gain, 0.0)
                num += btc * P
                den += btc * prices[k.created]
                if d - k.created < 155:
                    sth_num += btc * P
                    sth_den += btc * prices[k.created]
                else:
                    lth_num += btc * P
                    lth_den += btc * prices[k.created]
                cdd += k.value * (d - k.created)
        ratio = lambda a, b: a / b if b else math.nan  # noqa: E731
        vals = {
            "realized_cap": rc, "realized_price": ratio(rc, sup / SAT),
            "realized_profit_usd": prof, "realized_loss_usd": loss, "net_realized_pl_usd": prof - loss,
            "sopr": ratio(num, den), "sth_sopr": ratio(sth_num, sth_den), "lth_sopr": ratio(lth_num, lth_den),
            "supply_in_profit": sip / SAT, "supply_in_loss": sil / SAT, "sth_supply": sth / SAT,
            "lth_supply": lth / SAT, "sth_cost_basis": ratio(sth_usd, sth / SAT),
            "lth_cost_basis": ratio(lth_usd, lth / SAT), "cdd": cdd / SAT,
        }
        for key, v in vals.items():
            out[key].append(v)
    return out


def _compare(fast: dict, ref: dict, *, exact: bool):
    for k in M.METRIC_KEYS:
        a = fast[k]["value"].to_numpy()
        b = np.array(ref[k], dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), k
        if exact or M.UNITS[k] in ("BTC", "BTC-days"):
            assert np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)]), k
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9, err_msg=k)


def _bitcoinlib_coins(raw_blocks: list[bytes]) -> tuple[list[Coin], list[dt.date]]:
    from bitcoin.core import CBlock

    day0 = None
    utxo: dict[tuple[bytes, int], list] = {}
    coins: list[list] = []
    days = []
    for raw in raw_blocks:
        blk = CBlock.deserialize(raw)
        day = dt.datetime.fromtimestamp(blk.nTime, dt.timezone.utc).date()
        day0 = day0 or day
        di = (day - day0).days
        days.append(day)
        for tx in blk.vtx:
            if not tx.is_coinbase():
                for txin in tx.vin:
                    coin = utxo.pop((txin.prevout.hash, txin.prevout.n))
                    coin[1] = max(di, coin[0])  # never spent before its creation day
            txid = tx.GetTxid()
            for i, out in enumerate(tx.vout):
                rec = [di, None, out.nValue]
                utxo[(txid, i)] = rec
                coins.append(rec)
    return [Coin(c, s, v) for c, s, v in coins], days


def test_reference_real_blocks_0_to_255(tmp_path, fixture_blocks):
    coins, days = _bitcoinlib_coins(fixture_blocks)
    assert len(coins) == 268 and sum(k.spent is not None for k in coins) == 7
    assert sum(k.value for k in coins if k.spent is None) == 12800 * SAT
    write_blk(tmp_path / "blocks", fixture_blocks)
    api.sync(blocks_dir=tmp_path / "blocks", store_path=tmp_path / "s.duckdb")
    m = api.load_matrix(tmp_path / "s.duckdb")
    ndays = m.ndays
    assert ndays == (days[-1] - days[0]).days + 1 == 10
    prices = np.arange(1, ndays + 1, dtype=float) * 7  # integer USD: exact float sums
    fast = api.daily_metrics(prices, matrix=m)
    _compare(fast, reference_metrics(coins, prices, ndays), exact=True)
    # and the matrix path on a matrix built straight from the reference coins
    mm = matrix_from_coins(coins, ndays, str(days[0]))
    assert mm.created.tolist() == m.created.tolist() and mm.value.tolist() == m.value.tolist()


@pytest.mark.parametrize("seed", [1, 2])
def test_reference_synthetic(seed):
    coins, prices = random_coins(seed, ndays=300, ncoins=1500)
    m = matrix_from_coins(coins, 300)
    fast = M.daily_metrics_from_matrix(m, prices)
    _compare(fast, reference_metrics(coins, prices, 300), exact=False)


def test_reference_hodl_bands():
    coins, prices = random_coins(3, ndays=400, ncoins=800)
    m = matrix_from_coins(coins, 400)
    h = M.holdings(m, prices)
    for d in (0, 7, 100, 399):
        for lab, a0, a1 in M.HODL_BANDS:
            ref = sum(k.value for k in coins
                      if k.created <= d and (k.spent is None or k.spent > d) and a0 <= d - k.created < a1)
            assert h[f"band:{lab}"][d] == ref, (d, lab)
