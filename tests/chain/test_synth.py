"""Metrics on the hand-derived synthetic case (see btcmacro.chain.synth.hand_case docstring).

Every expected number below is worked out by hand from the five coins and three price levels.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from btcmacro.chain import metrics as M
from btcmacro.chain.synth import hand_case, matrix_from_coins

SAT = 10**8


@pytest.fixture(scope="module")
def case():
    coins, prices, ndays = hand_case()
    return matrix_from_coins(coins, ndays), prices


def test_supply_and_realized_cap(case):
    m, p = case
    sup = M.supply(m) / SAT
    assert sup[0] == 14 and sup[9] == 14 and sup[10] == 7 and sup[159] == 7 and sup[160] == 1 and sup[170] == 4
    rc = M.realized_cap(m, p)
    assert rc[0] == 1400  # 14 BTC @ 100
    assert rc[10] == 1000  # B 4@100 + C 2@200 + D 1@200
    assert rc[160] == 200  # D 1@200
    assert rc[170] == 350  # D 200 + E 3@50
    assert M.realized_price(m, p)[170] == 87.5


def test_realized_pl_and_sopr(case):
    m, p = case
    profit, loss = M.realized_pl(m, p)
    assert profit[10] == 1000 and loss[10] == 0  # A: 10 × (200 − 100)
    assert profit[160] == 0 and loss[160] == 500  # B 4 × 50 + C 2 × 150
    assert profit.sum() == 1000 and loss.sum() == 500
    s, sth, lth = M.sopr(m, p), M.sopr(m, p, "sth"), M.sopr(m, p, "lth")
    assert s[10] == 2.0 and sth[10] == 2.0 and math.isnan(lth[10])
    assert s[160] == 300 / 800 and sth[160] == 100 / 400 and lth[160] == 200 / 400
    assert math.isnan(s[11])  # nothing spent


def test_supply_in_profit_loss(case):
    m, p = case
    h = M.holdings(m, p)
    sip, sil = h["supply_in_profit"] / SAT, h["supply_in_loss"] / SAT
    assert (sip[5], sil[5]) == (0, 0)  # all cost 100, price 100: neither
    assert (sip[10], sil[10]) == (4, 0)  # B (cost 100) in profit at 200; C, D at cost
    assert (sip[160], sil[160]) == (0, 1)  # D cost 200, price 50
    assert (sip[199], sil[199]) == (0, 1)  # E at cost 50: neither


def test_sth_lth_split_and_cost_basis(case):
    m, p = case
    h = M.holdings(m, p)
    sth, lth = h["sth_supply"] / SAT, h["lth_supply"] / SAT
    assert (sth[154], lth[154]) == (7, 0)  # B is 154 days old: still STH
    assert (sth[155], lth[155]) == (3, 4)  # B turns 155: LTH
    assert h["sth_cost_usd"][155] / sth[155] == 200 and h["lth_cost_usd"][155] / lth[155] == 100
    assert (sth[165], lth[165]) == (0, 1)  # D is 155 days old on day 165
    assert (sth[170], lth[170]) == (3, 1)
    out = M.daily_metrics_from_matrix(m, p)
    assert out["sth_cost_basis"].value[170] == 50 and out["lth_cost_basis"].value[170] == 200
    assert math.isnan(out["sth_cost_basis"].value[165])


def test_cdd_and_hodl(case):
    m, p = case
    c = M.cdd(m)
    assert c[10] == 100 and c[160] == 4 * 160 + 2 * 150 and c.sum() == 1040
    waves = M.hodl_waves(m)
    assert waves.iloc[170]["<1d"] == 0.75 and waves.iloc[170]["3m-6m"] == 0.25
    assert np.allclose(waves.fillna(0).sum(axis=1)[waves.index[0]:], 1.0)


def test_daily_metrics_shape(case):
    m, p = case
    out = M.daily_metrics_from_matrix(m, p)
    assert tuple(out) == M.METRIC_KEYS
    for k, f in out.items():
        assert list(f.columns) == ["date", "value"] and len(f) == 200
        assert f.attrs["tip_hash"] == "synthetic" and f.attrs["unit"]
    assert out["net_realized_pl_usd"].value[160] == -500
