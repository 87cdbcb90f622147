"""Synthetic coin histories with chosen ages and prices, for tests and benchmarks.

* :class:`Coin` / :func:`matrix_from_coins` — a list of coins (created day, spent day or
  ``None``, satoshis) turned into a :class:`~btcmacro.chain.aggregate.Matrix`; small enough to
  compute every metric by hand.
* :func:`hand_case` — the documented worked example used by ``tests/chain/test_synth.py``.
* :func:`random_coins` — a random history (fixed seed) for the reference-twin comparison.
* :func:`realistic_matrix` — a matrix of realistic shape (thousands of days, tens of millions
  of cells standing for hundreds of millions of spends) built directly as cells, for
  ``benchmarks/chain_metrics.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from btcmacro.chain.aggregate import Matrix

__all__ = ["Coin", "matrix_from_coins", "hand_case", "random_coins", "realistic_matrix"]

SAT = 100_000_000


@dataclass(frozen=True, slots=True)
class Coin:
    created: int  # day index
    spent: int | None  # day index, or None if still unspent
    value: int  # satoshis


def matrix_from_coins(coins: list[Coin], ndays: int, start: str = "2020-01-01") -> Matrix:
    """Aggregate coins into a Matrix over ``ndays`` days starting at ``start``."""
    days = np.arange(np.datetime64(start), np.datetime64(start) + ndays, dtype="datetime64[D]")
    created = np.zeros(ndays, dtype=np.int64)
    created_n = np.zeros(ndays, dtype=np.int64)
    cells: dict[tuple[int, int], list[int]] = {}
    for k in coins:
        if not (0 <= k.created < ndays) or (k.spent is not None and not (k.created <= k.spent < ndays)):
            raise ValueError(f"coin outside the day range or spent before creation: {k}")
        created[k.created] += k.value
        created_n[k.created] += 1
        if k.spent is not None:
            cell = cells.setdefault((k.created, k.spent), [0, 0])
            cell[0] += k.value
            cell[1] += 1
    keys = sorted(cells, key=lambda cs: (cs[1], cs[0]))
    c = np.array([k[0] for k in keys], dtype=np.int64)
    s = np.array([k[1] for k in keys], dtype=np.int64)
    v = np.array([cells[k][0] for k in keys], dtype=np.int64)
    n = np.array([cells[k][1] for k in keys], dtype=np.int64)
    return Matrix(days, c, s, v, n, created, created_n, tip_hash="synthetic", tip_height=None)


def hand_case() -> tuple[list[Coin], np.ndarray, int]:
    """A 200-day history whose metrics are derived by hand in ``tests/chain/test_synth.py``.

    Prices: 100 USD on days 0–9, 200 on days 10–159, 50 from day 160 on.

    Coins:
    * A: 10 BTC created day 0, spent day 10 (age 10, STH; profit (200-100)*10 = 1,000 USD);
    * B: 4 BTC created day 0, spent day 160 (age 160, LTH; profit (50-100)*4 → loss 200 USD);
    * C: 2 BTC created day 10, spent day 160 (age 150, STH; loss (200-50)*2 = 300 USD);
    * D: 1 BTC created day 10, never spent;
    * E: 3 BTC created day 170, never spent.
    """
    coins = [
        Coin(0, 10, 10 * SAT),
        Coin(0, 160, 4 * SAT),
        Coin(10, 160, 2 * SAT),
        Coin(10, None, 1 * SAT),
        Coin(170, None, 3 * SAT),
    ]
    prices = np.where(np.arange(200) < 10, 100.0, np.where(np.arange(200) < 160, 200.0, 50.0))
    return coins, prices, 200


def random_coins(seed: int, ndays: int = 400, ncoins: int = 3000) -> tuple[list[Coin], np.ndarray]:
    """Random coins (integer BTC-cent values) and integer USD prices, fixed seed."""
    rng = np.random.default_rng(seed)
    coins = []
    for _ in range(ncoins):
        c = int(rng.integers(0, ndays))
        spent = None if rng.random() < 0.3 else int(min(ndays - 1, c + rng.geometric(1 / 60) - 1))
        coins.append(Coin(c, spent, int(rng.integers(1, 5000)) * 1_000_000))
    prices = np.round(1000 + np.cumsum(rng.normal(0, 40, ndays))).clip(1, None)
    return coins, prices.astype(np.float64)


def realistic_matrix(ndays: int = 6200, spends: int = 120_000_000, seed: int = 7,
                     max_cells_per_day: int = 4000) -> tuple[Matrix, np.ndarray]:
    """A matrix shaped like Bitcoin's: heavy same-week spending, a long tail of old coins.

    Each spend day gets up to ``max_cells_per_day`` distinct creation days, most of them recent
    (geometric ages) plus a uniform tail; cell counts ``n`` add up to ``spends``. Values are in
    satoshis and the total never exceeds what was created. Returns (matrix, prices).
    """
    rng = np.random.default_rng(seed)
    created = rng.integers(5_000, 30_000, ndays).astype(np.int64) * SAT // 10  # 500..3000 BTC/day
    cs, ss = [], []
    for s in range(ndays):
        k = min(s + 1, max_cells_per_day)
        if k == s + 1:
            c = np.arange(s + 1)
        else:
            recent = s - np.unique(np.minimum(rng.geometric(1 / 90, k), s))
            tail = rng.choice(s + 1, size=k, replace=False)
            c = np.unique(np.concatenate([recent, tail]))[:k]
        cs.append(c)
        ss.append(np.full(c.size, s))
    c = np.concatenate(cs).astype(np.int64)
    s = np.concatenate(ss).astype(np.int64)
    # spend 0.5%..2% of each creation day's coins per cell, scaled so no day is overspent
    frac = rng.uniform(0.0, 1.0, c.size)
    per_c = np.bincount(c, weights=frac, minlength=ndays)
    value = np.floor(frac / per_c[c] * 0.9 * created[c]).astype(np.int64)
    n = rng.multinomial(spends, np.full(c.size, 1 / c.size)).astype(np.int64)
    days = np.arange(np.datetime64("2009-01-03"), np.datetime64("2009-01-03") + ndays, dtype="datetime64[D]")
    prices = np.exp(np.cumsum(rng.normal(0.001, 0.035, ndays))) * 0.1
    m = Matrix(days, c, s, value, n, created, np.full(ndays, 400_000, dtype=np.int64), "synthetic", None)
    return m, prices
