"""Sensitivity study: regression numbers against independent computations, data alignment by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from btcmacro.research import sensitivity as S


def _fixed_dataset(n=260, seed=11) -> pd.DataFrame:
    """A fixed synthetic weekly dataset with known structure and autocorrelated errors."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2015-01-07", periods=n, freq="W-WED")
    x = pd.DataFrame({
        "net_liquidity": rng.normal(0.001, 0.01, n),
        "policy_rate": rng.choice([0.0, 0.0, 0.0, 0.25, -0.25], n),
        "dollar": rng.normal(0, 0.006, n),
        "real_yield": rng.normal(0, 0.08, n),
    }, index=idx)
    e = np.zeros(n)
    u = rng.normal(0, 0.05, n)
    for t in range(1, n):
        e[t] = 0.4 * e[t - 1] + u[t]
    y = 0.004 + 2.0 * x["net_liquidity"] - 0.05 * x["policy_rate"] - 1.5 * x["dollar"] + e
    return pd.concat([pd.Series(y, index=idx, name="btc"), x], axis=1)


def _newey_west(X: np.ndarray, u: np.ndarray, L: int) -> np.ndarray:
    """Reference Newey–West covariance (Bartlett weights, n/(n−k) correction), written out."""
    n, k = X.shape
    Xu = X * u[:, None]
    S_ = Xu.T @ Xu
    for lag in range(1, L + 1):
        G = Xu[lag:].T @ Xu[:-lag]
        S_ += (1 - lag / (L + 1)) * (G + G.T)
    B = np.linalg.inv(X.T @ X)
    return B @ S_ @ B * n / (n - k)


def test_coefficients_and_hac_se_match_independent_computation():
    data = _fixed_dataset()
    r = S.analyze(data, "W")
    res = r.models[("net_liquidity", "policy_rate", True)]
    cols = ["net_liquidity", "policy_rate", "dollar"]
    # independent standardisation and least squares
    Z = (data[cols] - data[cols].mean()) / data[cols].std(ddof=1)
    X = np.column_stack([np.ones(len(Z)), Z.to_numpy()])
    beta, *_ = np.linalg.lstsq(X, data["btc"].to_numpy(), rcond=None)
    np.testing.assert_allclose(res.params.to_numpy(), beta, rtol=1e-10, atol=1e-12)
    L = math.floor(4 * (len(Z) / 100) ** (2 / 9))
    assert r.hac_lags == L == 4
    cov = _newey_west(X, data["btc"].to_numpy() - X @ beta, L)
    np.testing.assert_allclose(res.bse.to_numpy(), np.sqrt(np.diag(cov)), rtol=1e-10)
    # statsmodels' own HAC on the same design (with the n/(n-k) correction) gives the same SEs
    import statsmodels.api as sm

    own = sm.OLS(data["btc"].to_numpy(), X).fit(cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": True})
    np.testing.assert_allclose(res.bse.to_numpy(), own.bse, rtol=1e-12)
    # the known structure is recovered: liquidity beta positive and clearly estimated
    row = r.horse_race[(r.horse_race["liquidity"] == "net liquidity") & (r.horse_race["rate"] == "policy rate")
                       & (r.horse_race["controls"] == "broad dollar")].iloc[0]
    assert row["beta_liq"] == pytest.approx(beta[1])
    assert row["liq_ci_low"] > 0
    assert row["n"] == len(data)


def test_magnitude_test_is_the_sign_adjusted_contrast():
    data = _fixed_dataset()
    r = S.analyze(data, "W")
    res = r.models[("net_liquidity", "policy_rate", True)]
    mt = S.magnitude_test(res, "net_liquidity", "policy_rate")
    b = res.params
    assert mt["diff"] == pytest.approx(abs(b["net_liquidity"]) - abs(b["policy_rate"]))
    c = np.zeros(len(b))
    c[1], c[2] = np.sign(b["net_liquidity"]), -np.sign(b["policy_rate"])
    se = math.sqrt(c @ res.cov_params().to_numpy() @ c)
    from scipy import stats

    z = mt["diff"] / se
    assert mt["p"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-8)  # HAC results use the normal


def test_real_yield_is_a_rate_measure_and_the_dollar_the_only_control():
    data = _fixed_dataset()
    r = S.analyze(data, "W")
    full = r.models[("net_liquidity", "real_yield", True)]
    assert list(full.params.index) == ["const", "net_liquidity", "real_yield", "dollar"]
    bare = r.models[("net_liquidity", "policy_rate", False)]
    assert list(bare.params.index) == ["const", "net_liquidity", "policy_rate"]
    # every liquidity measure against every rate measure, with and without the control
    assert len(r.horse_race) == r.specifications == 1 * 2 * 2
    assert set(r.horse_race["controls"]) == {"broad dollar", "none"}


def test_weekly_levels_on_h41_wednesday_by_hand(research_store):
    lv = S.load_levels(research_store, "W")
    d = pd.Timestamp("2025-12-10")
    row = lv.loc[d]
    # fred/WALCL.csv 2025-12-10 = 6,539,303; fred/WDTGAL.csv 2025-12-10 = 805,827 (millions);
    # fred/RRPONTSYD.csv 2025-12-10 = 5.045 (billions)
    assert row["net_liquidity"] == pytest.approx((6_539_303 - 805_827) * 1e6 - 5.045e9)
    # fred/WRESBAL.csv 2025-12-10 = 2,932,112 millions
    assert row["reserves"] == pytest.approx(2_932_112e6)
    # DGS10 2025-12-10 = 4.13, T10Y2Y = 0.59  ->  derived 2y = 3.54
    assert row["us2y"] == pytest.approx(3.54)
    assert row["real_yield"] == pytest.approx(1.88) and row["dollar"] == pytest.approx(120.6752)
    # btc/btc_usd_daily_coinmarketcap.csv close 2025-12-10
    assert row["btc"] == pytest.approx(92020.9457350057)
    # default end: WDTGAL (TGA) ends 2026-07-22, so no week after it is used
    assert lv.index.max() == pd.Timestamp("2026-07-22")
    ch = S.changes(lv)
    # close 2025-12-03 = 93527.8038002451; WALCL 6,535,781, WDTGAL 908,523, RRP 2.514 on 2025-12-03
    assert ch.loc[d, "btc"] == pytest.approx(math.log(92020.9457350057 / 93527.8038002451))
    nl_prev = (6_535_781 - 908_523) * 1e6 - 2.514e9
    assert ch.loc[d, "net_liquidity"] == pytest.approx(math.log(row["net_liquidity"] / nl_prev))
    assert ch.loc[d, "us2y"] == pytest.approx((4.13 - 0.59) - (4.06 - 0.57))


def test_weekly_study_on_embedded_data(weekly_result):
    r = weekly_result
    assert r.freq == "W" and r.n == len(r.data) > 600
    assert set(r.horse_race["liquidity"]) == {"net liquidity", "reserves", "Fed total assets"}  # no M2 weekly
    # 3 liquidity x 4 rate measures (policy rate, 2y, 10y, 10y real), with and without the control
    assert len(r.horse_race) == 24 and (r.horse_race["n"] == r.n).all()
    assert r.verdict[-1].startswith("Verdict on 'BTC reacts more to liquidity than to the policy rate'")
    assert list(r.leadlag.index) == list(range(-8, 9))
    # lag 0 of the cross-correlation is the plain correlation
    assert r.leadlag.loc[0, "net liquidity"] == pytest.approx(np.corrcoef(r.data["btc"], r.data["net_liquidity"])[0, 1])
    # lag 1 (net liquidity leads by one week)
    y, x = r.data["btc"].to_numpy(), r.data["net_liquidity"].to_numpy()
    yd, xd = y - y.mean(), x - x.mean()
    ref = (yd[1:] * xd[:-1]).sum() / len(y) / (y.std() * x.std())
    assert r.leadlag.loc[1, "net liquidity"] == pytest.approx(ref)
    assert not r.rolling.empty and r.rolling.index.min() > r.start


def test_monthly_study_includes_m2_and_as_of_cuts_the_data(research_store):
    r = S.sensitivity(freq="M", end="2024-12-31", as_of="2025-01-15", store=research_store)
    assert "M2" in set(r.horse_race["liquidity"])
    # M2 for 2024-12 is published in late January 2025: not known on 2025-01-15
    assert r.end <= pd.Timestamp("2024-11-30")
    doc = r.to_doc()
    for sec in doc.sections:
        for t in sec.tables:
            assert "Sample" in t.caption and "monthly" in t.caption and "Method" in t.caption


def test_bad_frequency_is_a_usage_error(research_store):
    from btcmacro.errors import UsageError

    with pytest.raises(UsageError):
        S.sensitivity(freq="Q", store=research_store)
