"""The reserve-management projection: an assumption with its source, net purchases as the only
growth, the MBS-to-bills reinvestment reported as a change of composition (issue 11, item 3)."""

from __future__ import annotations

import pandas as pd
import pytest

from btcmacro.indicators.liquidity import rmp_projection


def _mbs():
    # weekly WSHOMCB in millions, falling by exactly 7,000M every 7 days (1,000M a day)
    idx = pd.date_range("2025-01-01", "2025-12-31", freq="7D")
    return pd.Series([2_200_000.0 - 7_000.0 * i for i in range(len(idx))], index=idx)


def test_growth_counts_only_net_purchases():
    s = rmp_projection(_mbs(), monthly_bill_purchases_usd=40e9, as_of="2025-12-09")
    d = s.attrs["detail"]
    assert s.iloc[-1] == d["net_growth_annual_usd"] == 480e9
    # runoff over 182 days = 182,000M -> per month of 30.4375 days: 182e9 / (182 / 30.4375) = 30.4375e9
    assert d["mbs_runoff_monthly_usd"] == pytest.approx(30.4375e9)
    assert d["mbs_to_bills_swap_annual_usd"] == pytest.approx(12 * 30.4375e9)
    assert d["bill_holdings_growth_annual_usd"] == pytest.approx(480e9 + 12 * 30.4375e9)
    assert d["assumption"] is True and d["assumption_key"] == "rmp_monthly_bill_purchases_usd"


@pytest.mark.parametrize("as_of,pace,source_date", [
    ("2025-12-09", 40e9, None),          # the day before the FOMC announced the pace
    ("2025-12-10", 40e9, "2025-12-10"),  # announced: about $40B of bills in the first month
    ("2026-03-01", 25e9, None),          # another pace is the user's own assumption
])
def test_assumption_cites_a_public_source_only_when_one_exists(as_of, pace, source_date):
    d = rmp_projection(_mbs(), monthly_bill_purchases_usd=pace, as_of=as_of).attrs["detail"]
    assert d["assumption_source_date"] == source_date
    assert (d["assumption_source"] is not None) == (source_date is not None)


def test_no_reinvestment_means_no_swap():
    d = rmp_projection(_mbs(), monthly_bill_purchases_usd=40e9, reinvest_mbs=False).attrs["detail"]
    assert d["mbs_to_bills_swap_annual_usd"] == 0.0 and d["bill_holdings_growth_annual_usd"] == 480e9
