"""Briefings for early as-of dates, where most inputs do not exist yet (QA of issue 3).

2010-08-01 is three weeks after the first CoinMarketCap close (btc_usd_daily_coinmarketcap.csv
starts 2010-07-13); 2020-03-16 is the day after the emergency cut to 0-0.25% (DFEDTARL/DFEDTARU).
Both used to crash in ``api.briefing`` with charts (an empty metric series had a RangeIndex and
could not be sliced by date).
"""

from __future__ import annotations

import pandas as pd
import pytest

from btcmacro import api, report
from btcmacro.registry import REGISTRY, Evaluator
from btcmacro.store import Store


@pytest.mark.parametrize("as_of", ["2010-08-01", "2020-03-16"])
def test_early_briefing_builds_and_explains_gaps(snapshot_store_path, as_of):
    with Store(snapshot_store_path, read_only=True) as st:
        b = api.briefing(as_of, store=st, with_charts=True)
    for mid, mv in b.metrics.items():
        if mv.status == "unavailable":
            assert mv.reason, mid  # every missing figure says why
    for lang in ("en", "zh-TW"):
        text = report.render(b, "md", lang)
        assert text.strip()
    if as_of == "2010-08-01":
        assert b.fomc is None and b.scenarios == []  # the embedded FOMC calendar starts in 2015
        assert b.metrics["fear_greed"].reason == "no data published by 2010-08-01"
    else:
        cuts = [s for s in b.scenarios if s["id"].startswith("cut")]
        assert cuts and all(s["applicable"] is False for s in cuts)  # 0-0.25%: no cut below zero


def test_empty_metric_series_has_a_date_index(snapshot_store_path):
    with Store(snapshot_store_path, read_only=True) as st:
        ev = Evaluator(st, "2010-08-01")
        for mid in ("fear_greed", "etf_netflow_5d", "sofr"):
            s = ev.series(mid)
            assert s.empty and isinstance(s.index, pd.DatetimeIndex), mid
            assert s[s.index > pd.Timestamp("2010-01-01")].empty
