"""Issue 16: rate moves dated at the FOMC decision, the test's power, controls apart from drivers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from btcmacro.research import sensitivity as S
from btcmacro.rules import fomc


def _upper(points: dict[str, float], start: str, end: str) -> pd.Series:
    """A daily target-range series that steps on the given effective days."""
    idx = pd.date_range(start, end, freq="D")
    s = pd.Series(np.nan, index=idx)
    for d, v in points.items():
        s.loc[d] = v
    return s.ffill()


# --- decision dating ---------------------------------------------------------------------------

def test_decision_dated_on_real_meetings(research_store):
    """Three meetings checked by hand against FRED DFEDTARU and the FOMC statements:
    - 2025-12-10 (Wednesday): cut to 3.50-3.75, effective Thursday 2025-12-11;
    - 2024-11-07 (Thursday, after the election): cut to 4.50-4.75, effective Friday 2024-11-08;
    - 2020-03-15 (Sunday, unscheduled): cut to 0-0.25, effective Monday 2020-03-16.
    """
    from btcmacro import api

    raw = api.series("fred/DFEDTARU", store=research_store)
    dd = fomc.decision_dated(raw)
    for decision, effective, before, after in [("2025-12-10", "2025-12-11", 4.00, 3.75),
                                               ("2024-11-07", "2024-11-08", 5.00, 4.75),
                                               ("2020-03-15", "2020-03-16", 1.25, 0.25)]:
        d, e = pd.Timestamp(decision), pd.Timestamp(effective)
        # FRED: the old range on the decision day, the new one on the effective day
        assert raw.loc[d] == before and raw.loc[e] == after
        # re-dated: the new range from the decision day on
        assert dd.loc[d - pd.Timedelta(days=1)] == before
        assert dd.loc[d] == after and dd.loc[e] == after
    assert ("2025-12-10", "2025-12-11") in dd.attrs["decision_dated"]
    assert dd.attrs["undated_changes"] == []
    # every one of the 31 changes since 2015 moves back by one day; levels are otherwise identical
    assert len(dd.attrs["decision_dated"]) == 31
    common = raw.index.intersection(dd.index)
    assert (raw.loc[common] != dd.loc[common]).sum() == sum(
        (pd.Timestamp(b) - pd.Timestamp(a)).days for a, b in dd.attrs["decision_dated"])


def test_change_without_a_meeting_keeps_its_date():
    meets = [{"end": "2024-01-31"}]
    s = _upper({"2024-01-01": 5.5, "2024-02-01": 5.25, "2024-03-20": 5.0}, "2024-01-01", "2024-04-30")
    dd = fomc.decision_dated(s, meets)
    assert dd.loc["2024-01-31"] == 5.25 and dd.loc["2024-01-30"] == 5.5
    assert dd.loc["2024-03-19"] == 5.25 and dd.loc["2024-03-20"] == 5.0
    assert dd.attrs["undated_changes"] == ["2024-03-20"]


def test_weekly_sample_puts_the_december_2025_cut_in_the_decision_week(research_store):
    lv = S.load_levels(research_store, "W", start="2025-06-01")
    ch = S.changes(lv)
    # the week ending Wednesday 2025-12-10 holds the cut (FRED's effective day would put it in the
    # week ending 2025-12-17, after BTC reacted)
    assert ch.loc["2025-12-10", "policy_rate"] == pytest.approx(-0.25)
    assert ch.loc["2025-12-17", "policy_rate"] == 0
    assert lv.loc["2025-12-10", "policy_rate"] == 3.75


def test_event_study_decisions_use_the_decision_day():
    from btcmacro.research.fomc_events import classify_decisions

    meets = [{"start": "2024-11-06", "end": "2024-11-07", "scheduled": True}]
    s = _upper({"2024-10-01": 5.0, "2024-11-08": 4.75}, "2024-10-01", "2024-12-31")
    row = classify_decisions(meets, s).iloc[0]
    assert (row["rate_before"], row["rate_after"], row["change_bp"], row["decision"]) == (5.0, 4.75, -25.0, "cut")
    # the data must reach past the effective day before a decision is classified
    short = s.loc[:"2024-11-07"]
    assert pd.isna(classify_decisions(meets, short).iloc[0]["decision"])


# --- power ------------------------------------------------------------------------------------

def test_min_detectable_factor_by_hand():
    # z(0.975) = 1.959964, z(0.80) = 0.841621 (normal table)
    assert S.mdd_factor() == pytest.approx(1.959964 + 0.841621, abs=1e-6)
    assert S.min_detectable(0.01) == pytest.approx(0.02801585, abs=1e-7)


def _sim(n, b_l, b_r, rng):
    x = rng.normal(size=(n, 2))
    y = 0.01 + b_l * x[:, 0] + b_r * x[:, 1] + rng.normal(size=n)
    return pd.Series(y), pd.DataFrame(x, columns=["liq", "rate"])


def test_minimum_detectable_difference_has_the_stated_power():
    """Simulate a true difference of magnitudes equal to the reported MDD: the test rejects in about
    80% of samples (400 replicates: binomial s.e. 2 pp)."""
    rng = np.random.default_rng(16)
    n = 500
    y, X = _sim(n, 0.30, 0.15, rng)
    mdd = S.magnitude_test(S.fit_ols_hac(y, X), "liq", "rate")["mdd"]
    b_r = 0.15
    b_l = b_r + mdd  # the true |b_l| - |b_r| is exactly the reported minimum detectable difference
    rejections = 0
    reps = 400
    for _ in range(reps):
        y, X = _sim(n, b_l, b_r, rng)
        rejections += S.magnitude_test(S.fit_ols_hac(y, X), "liq", "rate")["p"] < 0.05
    assert 0.72 <= rejections / reps <= 0.88
    # and a true difference of zero is rejected about 5% of the time
    false = 0
    for _ in range(reps):
        y, X = _sim(n, 0.2, 0.2, rng)
        false += S.magnitude_test(S.fit_ols_hac(y, X), "liq", "rate")["p"] < 0.05
    assert false / reps <= 0.10


# --- controls apart from drivers, multiple testing, start dates ---------------------------------

def test_partial_r2_and_holm_by_hand():
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    y = pd.Series(0.5 * X["a"] + 0.2 * X["c"] + rng.normal(size=n))

    def ssr(cols):
        A = np.column_stack([np.ones(n)] + [X[c] for c in cols])
        beta, *_ = np.linalg.lstsq(A, y.to_numpy(), rcond=None)
        return float(((y.to_numpy() - A @ beta) ** 2).sum())

    full = ssr(["a", "b", "c"])
    assert S.partial_r2(y, X, ["a"]) == pytest.approx((ssr(["b", "c"]) - full) / ssr(["b", "c"]))
    assert S.partial_r2(y, X, ["b", "c"]) == pytest.approx((ssr(["a"]) - full) / ssr(["a"]))
    # Holm: sort p ascending, multiply by (m - rank), running maximum, capped at 1
    p = [0.01, 0.04, 0.03, 0.20]
    np.testing.assert_allclose(S.holm(p), [0.04, 0.09, 0.09, 0.20])


def test_horse_race_reports_power_partial_r2_and_holm(weekly_result):
    h = weekly_result.horse_race
    for col in ("mdd", "p_diff_holm", "pr2_liq", "pr2_rate", "pr2_controls", "controls"):
        assert col in h.columns
    row = h[(h["liquidity"] == "net liquidity") & (h["rate"] == "policy rate") & (h["controls"] == "broad dollar")].iloc[0]
    res = weekly_result.models[("net_liquidity", "policy_rate", True)]
    # mdd = 2.80 x the standard error of the sign-adjusted contrast
    b = res.params
    c = np.zeros(len(b))
    c[1], c[2] = np.sign(b["net_liquidity"]), -np.sign(b["policy_rate"])
    se = float(np.sqrt(c @ res.cov_params().to_numpy() @ c))
    assert row["mdd"] == pytest.approx(S.mdd_factor() * se)
    assert (h["p_diff_holm"] >= h["p_diff"] - 1e-12).all()
    # the policy rate moves in few weeks: the verdict says how few, and states what it could detect
    moves = int((weekly_result.data["policy_rate"] != 0).sum())
    assert 25 <= moves <= 40
    assert any(f"changed in only {moves} of the {weekly_result.n}" in v for v in weekly_result.verdict)
    assert "could not have established a difference smaller than" in weekly_result.verdict[-1]
    assert f"{100 * row['mdd']:.2f} pp" in weekly_result.verdict[-1]


def test_start_date_rows_equal_a_fit_on_the_later_sample(weekly_result):
    ss = weekly_result.start_sensitivity
    assert ss["start"].iloc[0] == weekly_result.start.date().isoformat()
    row = ss[(ss["start"] >= "2014-01-01") & (ss["rate"] == "policy rate")].iloc[0]
    sub = weekly_result.data.loc[weekly_result.data.index >= pd.Timestamp(row["start"])]
    Z = S.zscore(sub[[c for c in sub.columns if c in S.VARS]])
    res = S.fit_ols_hac(sub["btc"], Z[["net_liquidity", "policy_rate", "dollar"]])
    assert row["beta_liq"] == pytest.approx(res.params["net_liquidity"])
    assert row["p_liq"] == pytest.approx(res.pvalues["net_liquidity"])
    assert row["n"] == len(sub)


def test_briefing_headline_equals_the_statsmodels_study(weekly_result):
    """The numpy estimate a briefing quotes is the study's headline model, to rounding."""
    from btcmacro.research import headline as H

    h = H.estimate(weekly_result.data)
    res = weekly_result.models[("net_liquidity", "policy_rate", True)]
    row = weekly_result.horse_race[(weekly_result.horse_race["liquidity"] == "net liquidity")
                                   & (weekly_result.horse_race["rate"] == "policy rate")
                                   & (weekly_result.horse_race["controls"] == "broad dollar")].iloc[0]
    assert h["beta_liquidity"] == pytest.approx(res.params["net_liquidity"], rel=1e-9)
    assert h["p_liquidity"] == pytest.approx(res.pvalues["net_liquidity"], rel=1e-7)
    assert h["beta_rate"] == pytest.approx(res.params["policy_rate"], rel=1e-9)
    assert h["p_diff"] == pytest.approx(row["p_diff"], rel=1e-7)
    assert h["mdd"] == pytest.approx(row["mdd"], rel=1e-7)
    assert h["n"] == weekly_result.n
    assert h["rate_moves"] == int((weekly_result.data["policy_rate"] != 0).sum())


def test_briefing_headline_is_point_in_time(research_store):
    from btcmacro.research import headline as H

    h = H.headline(research_store, "2025-12-09")
    # the last H.4.1 Wednesday published by Tuesday 2025-12-09 is 2025-12-03 (released Thursday 12-04)
    assert h["end"] == "2025-12-03" and h["as_of"] == "2025-12-09"
    assert h["start"] == "2013-01-09"


def test_briefing_headline_says_why_when_the_rate_never_moved(research_store):
    """In 2013 the target range sat at 0-0.25%: the rate's effect cannot be estimated, and the
    headline says so instead of failing."""
    from btcmacro.research import headline as H

    h = H.headline(research_store, "2013-10-15")
    assert h is not None and "did not move" in h["reason"]
