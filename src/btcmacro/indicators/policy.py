"""Market-implied odds of the next FOMC decision (Kalshi's Fed-decision markets).

Each input is already about "the next scheduled meeting as of that day" (see
:mod:`btcmacro.sources.kalshi`), so a metric's latest value on an as-of date is the odds traded
for the meeting that follows it. The scenario map checks that the observation is not older than
the previous meeting before quoting it.
"""

from __future__ import annotations

from ..registry import declare

CUT, CUT_LARGE, HOLD, HIKE = "kalshi/fomc_cut", "kalshi/fomc_cut_large", "kalshi/fomc_hold", "kalshi/fomc_hike"
_CITE = ("Kalshi Fed-decision markets (series KXFEDDECISION): midpoint of the closing YES bid and ask, "
         "else the last trade, divided by the sum over the meeting's outcomes")
_WHY = "needs Kalshi market data (a live update of the kalshi source)"


def _m(id, en, zh, definition, series):
    return declare("fomc", id, en, zh, "fraction", definition,
                   [([series], lambda s, p, k=series: s[k].dropna(), "Kalshi")], _CITE,
                   frequency="daily", unavailable_reason=_WHY)


METRICS = [
    _m("fomc_odds_cut", "Market odds of a cut at the next FOMC meeting", "市場預期下次FOMC會議降息機率",
       "Kalshi-implied probability that the next scheduled FOMC meeting cuts the target range.", CUT),
    _m("fomc_odds_cut_large", "Market odds of a cut larger than 25 bp", "市場預期降息逾1碼機率",
       "Kalshi-implied probability of a cut of more than 25 basis points at the next meeting.", CUT_LARGE),
    _m("fomc_odds_hold", "Market odds of a hold at the next FOMC meeting", "市場預期下次FOMC會議按兵不動機率",
       "Kalshi-implied probability that the next scheduled FOMC meeting leaves the range unchanged.", HOLD),
    _m("fomc_odds_hike", "Market odds of a hike at the next FOMC meeting", "市場預期下次FOMC會議升息機率",
       "Kalshi-implied probability that the next scheduled FOMC meeting raises the target range.", HIKE),
]
