"""The one research figure a briefing quotes: does net liquidity move BTC more than the policy rate?

The briefing states the sensitivity study's headline pair (net liquidity against the policy rate,
dated at the FOMC decision, with the broad dollar as control, weekly since 2013) with its power, so
a reader knows how much the note's central claim rests on evidence. The estimate is the same model
as :mod:`.sensitivity` (z-scored regressors, OLS, Newey–West HAC covariance with the Bartlett kernel,
the rule-of-thumb lag count and the ``n / (n − k)`` correction), written with numpy so that a
briefing does not import statsmodels and scipy; the tests check it against statsmodels.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

#: the headline specification: (liquidity, rate, controls), as in :data:`.sensitivity.VARS`
LIQ, RATE, CONTROLS = "net_liquidity", "policy_rate", ("dollar",)
ALPHA, POWER = 0.05, 0.80


def newey_west(X: np.ndarray, u: np.ndarray, lags: int) -> np.ndarray:
    """HAC covariance of OLS coefficients: Bartlett weights ``1 − l/(L+1)``, small-sample factor
    ``n/(n − k)`` (statsmodels ``cov_type="HAC", use_correction=True``)."""
    n, k = X.shape
    Xu = X * u[:, None]
    S = Xu.T @ Xu
    for lag in range(1, lags + 1):
        G = Xu[lag:].T @ Xu[:-lag]
        S += (1.0 - lag / (lags + 1.0)) * (G + G.T)
    B = np.linalg.inv(X.T @ X)
    return B @ S @ B * n / (n - k)


def estimate(data: pd.DataFrame) -> dict:
    """The headline model on a frame of changes (``btc`` + regressors, as :func:`.sensitivity.changes`).

    Returns betas (BTC log return per one s.d.), their p-values, the difference of magnitudes
    ``|b_liq| − |b_rate|`` with its p-value and its minimum detectable value (80% power, 5% level),
    the number of periods and of periods in which the policy rate moved, and the sample dates.
    """
    from .sensitivity import nw_lags

    cols = [LIQ, RATE, *CONTROLS]
    d = data[["btc", *cols]].dropna()
    flat = [c for c in cols if len(d) and float(d[c].std(ddof=1)) == 0.0]
    if len(d) < 30 or flat:
        why = (f"only {len(d)} weeks of data" if len(d) < 30 else
               "the policy rate did not move in the sample, so its effect cannot be estimated"
               if RATE in flat else f"{', '.join(flat)} did not move in the sample")
        return {"reason": why, "n": int(len(d))}
    Z = (d[cols] - d[cols].mean()) / d[cols].std(ddof=1)
    X = np.column_stack([np.ones(len(d)), Z.to_numpy()])
    y = d["btc"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    cov = newey_west(X, y - X @ beta, nw_lags(len(d)))
    se = np.sqrt(np.diag(cov))
    nd = NormalDist()

    def p_of(z: float) -> float:
        return math.erfc(abs(z) / math.sqrt(2.0))

    bl, br = beta[1], beta[2]
    c = np.zeros(len(beta))
    c[1], c[2] = (np.sign(bl) or 1.0), -(np.sign(br) or 1.0)
    diff = float(c @ beta)
    se_diff = float(math.sqrt(c @ cov @ c))
    factor = nd.inv_cdf(1 - ALPHA / 2) + nd.inv_cdf(POWER)
    return {
        "beta_liquidity": float(bl), "p_liquidity": p_of(bl / se[1]),
        "beta_rate": float(br), "p_rate": p_of(br / se[2]),
        "abs_diff": diff, "p_diff": p_of(diff / se_diff), "mdd": factor * se_diff,
        "n": int(len(d)), "rate_moves": int((d[RATE] != 0).sum()),
        "start": d.index.min().date().isoformat(), "end": d.index.max().date().isoformat(),
    }


def headline(store, as_of) -> dict | None:
    """:func:`estimate` on the weekly sample from 2013 with only what was published by ``as_of``;
    ``None`` when the sample is too short to load, a dict with ``reason`` when the model cannot be
    estimated (e.g. the policy rate never moved in the sample)."""
    from ..errors import UsageError
    from .sensitivity import changes, load_levels

    try:
        lv = load_levels(store, "W", as_of=as_of)
    except UsageError:
        return None
    out = estimate(changes(lv))
    if "reason" in out:
        return out
    out["as_of"] = pd.Timestamp(as_of).date().isoformat()
    out["method"] = ("weekly BTC log returns on z-scored changes in net liquidity and the policy rate "
                     "(dated at the FOMC decision), broad dollar as control; OLS with Newey–West errors")
    return out
