"""Issue 11, item 3: the briefing tells one consistent story.

Each test is one contradiction of the issue, checked on the 2025-12-09 briefing (where the reader
found it) and on four other as-of dates across regimes: 2022-06-15 (QT starting, capitulation),
2023-03-15 (the March 2023 bank stress), 2024-03-13 (expansion, extreme greed) and 2026-06-17 (late in
the embedded data, where several providers have stopped). Expected values were checked by hand
against the raw series (the arithmetic is in the comments) or are recomputed here from the raw
store series, independently of the indicator code.
"""

from __future__ import annotations

import datetime as dt
import operator
import re

import pandas as pd
import pytest

from btcmacro import api
from btcmacro.registry import RELEASE_GRACE_DAYS
from btcmacro.report import builder

DATES = ["2025-12-09", "2022-06-15", "2023-03-15", "2024-03-13", "2026-06-17"]
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@pytest.fixture(scope="module")
def store(snapshot_store_path):
    from btcmacro.store import Store

    s = Store(snapshot_store_path, read_only=True)
    yield s
    s.close()


@pytest.fixture(scope="module")
def briefings(store):
    return {d: api.briefing(d, store=store, with_charts=False) for d in DATES}


@pytest.fixture(scope="module")
def docs(briefings):
    return {(d, lang): builder.build(b, lang) for d, b in briefings.items() for lang in ("en", "zh-TW")}


def client_lines(doc) -> list[str]:
    """Every text a client reads: summary, regimes (line, evidence, context, caveat), section
    sentences and scenarios. "Not available" lines are left out: they go to the analyst appendix
    with the way to get the data (issue 11, item 4)."""
    out = list(doc["summary"]["lines"])
    for sec in doc["sections"]:
        for r in sec["regimes"]:
            out += [r["line"], r.get("caveat") or ""] + r["evidence"] + r["context"]
        out += [s["text"] for s in sec["sentences"] if s["kind"] != "unavailable"]
        for sc in sec["scenarios"]:
            out += sc["lines"]
    out += [r["line"] for r in doc["summary"]["regimes"]]
    return [x for x in out if x]


def raw(store, series_id: str, as_of: str) -> pd.Series:
    f = store.frame([series_id], as_of=as_of)
    return pd.Series(f["value"].to_numpy(), index=pd.DatetimeIndex(f["date"]))


# ---------------------------------------------------------------------------------------------
# QT: shown once, as policy plus what the data show
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", DATES)
def test_qt_is_stated_once_as_policy_plus_data(as_of, briefings, docs, store):
    qt = briefings[as_of].regimes["liquidity"]["qt"]
    # the holdings change, recomputed from the raw H.4.1 series: Treasuries + MBS now minus the
    # latest Wednesday at least 56 days earlier
    tot = (raw(store, "fred/TREAST", as_of) + raw(store, "fred/WSHOMCB", as_of)).dropna()
    end = tot.index[-1]
    start = tot.index[tot.index <= end - pd.Timedelta(days=56)][-1]
    assert qt["data_date"] == end.date().isoformat()
    assert qt["holdings_change_usd"] == pytest.approx((tot.iloc[-1] - tot.loc[start]) * 1e6)
    for lang in ("en", "zh-TW"):
        lines = client_lines(docs[(as_of, lang)])
        qt_lines = [x for x in lines if x.startswith(("QT:", "縮表（QT）："))]
        assert len(qt_lines) == 1, qt_lines  # once, in the liquidity regime
        assert not any("QT status" in x or "縮表狀態" in x for x in lines)
    if qt["policy"] != "runoff":
        # never "running" next to an FOMC that has ended QT
        assert not any(re.search(r"QT[^.;]*running", x) for x in client_lines(docs[(as_of, "en")]))


def test_qt_on_2025_12_09_by_hand(briefings, docs):
    qt = briefings["2025-12-09"].regimes["liquidity"]["qt"]
    # FOMC 2025-10-29: runoff to conclude on 2025-12-01. H.4.1: TREAST + WSHOMCB 6,242,404M on
    # 2025-12-03 against 6,282,642M on 2025-10-08, -40,238M; Treasuries alone -7,920M.
    assert (qt["policy"], qt["policy_effective"], qt["decided"]) == ("size_held", "2025-12-01", "2025-10-29")
    assert (qt["data_state"], qt["holdings_change_usd"], qt["treasuries_change_usd"]) == ("running", -40_238e6, -7_920e6)
    assert qt["data_lags_policy"] is True
    en = client_lines(docs[("2025-12-09", "en")])
    assert ("QT: ended by the FOMC, the balance sheet held at its size (in force since 2025-12-01, decided at the "
            "FOMC meeting of 2025-10-29); the Fed's securities holdings still fell $40.2B over the 8 weeks to "
            "2025-12-03") in " ".join(en)
    assert any("QT ended by the FOMC on 2025-12-01, though the Fed's securities holdings still fell $40.2B over 8 "
               "weeks" in x for x in en)
    zh = " ".join(client_lines(docs[("2025-12-09", "zh-TW")]))
    assert "聯準會持有證券仍減少402" in zh and "其中公債減少79" in zh


def test_qt_when_runoff_starts(briefings):
    # 2022-06-15: the runoff decided on 2022-05-04 took effect on 2022-06-01
    qt = briefings["2022-06-15"].regimes["liquidity"]["qt"]
    assert (qt["policy"], qt["policy_effective"], qt["data_lags_policy"]) == ("runoff", "2022-06-01", False)


# ---------------------------------------------------------------------------------------------
# every yes/no label agrees with its number
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", DATES)
def test_labels_agree_with_their_numbers(as_of, briefings):
    b = briefings[as_of]
    ctx = builder.Ctx(b, "en")
    checked = 0
    for rid, r in b.regimes.items():
        for e in r["evidence"]:
            v, thr, op = e["value"], e["threshold"], e["comparison"]
            if e["result"] is None or op not in OPS or isinstance(v, bool) or not isinstance(thr, (int, float)):
                continue
            assert e["result"] == OPS[op](v, thr), (rid, e["condition"])
            text = builder._evidence_item(ctx, e)
            shown_v = builder.display_value(e["metric"], v, e["unit"])[0]
            shown_t = builder.display_value(e["metric"], thr, e["unit"])[0]
            word = "above" if shown_v > shown_t else "below" if shown_v < shown_t else "at"
            assert f", {word} " in text and "≥" not in text and "≤" not in text, text
            checked += 1
    assert checked >= 8
    # "opposite directions" is defined by the signs of the two returns shown beside it
    inv = next(e for e in b.regimes["crossasset_rotation"]["evidence"] if e["condition"] == "inverse_move")
    if inv["result"] is not None:
        bas = inv["basis"]
        assert inv["value"] == ((bas["btc_return"] > 0) != (bas["gold_return"] > 0))
        line = builder._evidence_item(ctx, inv)
        assert ctx.cat.percent(100 * bas["btc_return"], signed=True) in line
        assert ("opposite directions" if inv["value"] else "the same direction") in line


def test_gold_label_and_correlation_on_2025_12_09(briefings, docs):
    # CoinMarketCap close 92,691.71 on 2025-12-09 / 103,372.41 on 2025-11-07 - 1 = -10.33 %;
    # gold 4,206.7 / 3,999.4 - 1 = +5.18 %: opposite signs, while the daily returns correlate +0.24
    inv = next(e for e in briefings["2025-12-09"].regimes["crossasset_rotation"]["evidence"]
               if e["condition"] == "inverse_move")
    assert inv["basis"]["btc_return"] == pytest.approx(92_691.707470239 / 103_372.4067182177 - 1)
    assert inv["basis"]["gold_return"] == pytest.approx(4_206.7 / 3_999.4 - 1)
    assert inv["basis"]["start"] == "2025-11-07"
    en = client_lines(docs[("2025-12-09", "en")])
    gold = next(x for x in en if x.startswith("Gold trades at"))
    assert "gold returned +5.18% and BTC -10.3%: they moved in opposite directions, although their daily " \
           "returns were positively correlated (0.24)" in gold
    # the bare "yes" beside the correlation is gone
    assert not any(re.search(r"opposite directions: yes", x) for x in en)


# ---------------------------------------------------------------------------------------------
# cross-source comparisons on the same date
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", DATES)
def test_cross_source_checks_compare_the_same_date(as_of, briefings, docs):
    b = briefings[as_of]
    n = 0
    for mid, mv in b.metrics.items():
        for alt in mv.alternatives:
            assert alt["date"] <= as_of
            if alt.get("no_common_date"):
                assert "diff_pct" not in alt and "compared_with" not in alt
                continue
            if alt.get("diff_pct") is not None and not isinstance(alt["value"], bool):
                n += 1
                if alt["compared_with"] == 0:  # both zero on that day
                    assert alt["value"] == 0 and alt["diff_pct"] == 0, mid
                    continue
                expect = 100 * (alt["value"] - alt["compared_with"]) / abs(alt["compared_with"])
                assert alt["diff_pct"] == pytest.approx(expect, abs=0.006), mid
    assert n > 0
    # in the text a figure of another day is always set against the primary value of that day
    for x in client_lines(docs[(as_of, "en")]):
        for m in re.finditer(r" on (\d{4}-\d{2}-\d{2}) \(([-+]?\d[\d.,]*%)\)", x):
            pytest.fail(f"different-day comparison with a difference: {m.group(0)} in {x}")


def test_price_checks_on_2025_12_09_and_at_the_end_of_the_data(briefings, store):
    alt = {a["source"]: a for a in briefings["2025-12-09"].metrics["btc_price"].alternatives}["Coin Metrics:PriceUSD"]
    # Coin Metrics' latest is 2025-12-08 (90,673.14); CoinMarketCap closed 90,640.21 that day: +0.04 %,
    # not the -2.18 % of 90,673 against the 2025-12-09 close
    assert alt["date"] == "2025-12-08" and alt["compared_with"] == pytest.approx(90_640.2055811025)
    assert alt["diff_pct"] == pytest.approx(0.04)
    end = api.briefing("2026-08-22", store=store, with_charts=False)
    alt = {a["source"]: a for a in end.metrics["btc_price"].alternatives}["Yahoo Finance:btc_close"]
    # Yahoo's BTC history ends on 2026-06-05: no common date within 7 days of 2026-08-22
    assert alt == {"source": "Yahoo Finance:btc_close", "value": pytest.approx(61_488.44921875),
                   "date": "2026-06-05", "no_common_date": True, "tolerance_days": 7}
    text = " ".join(client_lines(builder.build(end, "en")))
    assert "Yahoo Finance $61,488 on 2026-06-05, with no common date within 7 days to compare" in text
    assert "-21" not in re.sub(r"\d{4}-\d{2}-\d{2}", "", text.split("Yahoo Finance $61,488")[1][:80])


# ---------------------------------------------------------------------------------------------
# flows and balances reconciled in one place
# ---------------------------------------------------------------------------------------------


def test_exchange_balance_and_flows_reconciled(docs):
    en = docs[("2025-12-09", "en")]
    onchain = next(s for s in en["sections"] if s["id"] == "onchain")
    lines = [s for s in onchain["sentences"] if "exchange_netflow_30d" in s["metrics"]]
    assert len(lines) == 1 and "exchange_reserve_change_30d" in lines[0]["metrics"]
    t = lines[0]["text"]
    # BGeometrics reserve -9,666 BTC over 30 days; net flows -30,371 (BGeometrics) and -50,806
    # (CryptoQuant) over the same days; largest gap 50,806 - 9,666 = 41,140 BTC
    for piece in ("-9,666 BTC", "-30,371 BTC", "-50,806 BTC at CryptoQuant", "up to 41,140 BTC",
                  "each provider counts its own set of labelled exchange wallets"):
        assert piece in t, piece
    zh = next(s for s in docs[("2025-12-09", "zh-TW")]["sections"] if s["id"] == "onchain")
    zt = next(s["text"] for s in zh["sentences"] if "exchange_netflow_30d" in s["metrics"])
    assert "交易所存量減少9,666" in zt and "淨流出" in zt and "淨流入 -" not in zt and "淨流入-" not in zt


# ---------------------------------------------------------------------------------------------
# stale inputs and old events flagged; the regime says when it rests on them
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", DATES)
def test_stale_inputs_are_dated_and_flagged(as_of, briefings, docs):
    b = briefings[as_of]
    ctx = builder.Ctx(b, "en")
    for rid, r in b.regimes.items():
        flagged = {x["metric"] for x in r["stale_inputs"]}
        for e in r["evidence"]:
            if e["result"] is None:
                continue
            mv = b.metrics[e["metric"]]
            if mv.status == "stale":
                assert e.get("stale") is True and e["metric"] in flagged, (rid, e["metric"])
                assert "; stale: published " in builder._evidence_item(ctx, e)
            if e.get("old_event"):
                assert e["metric"] in flagged and e["event_age_days"] > e["event_max_age_days"]
                assert f"dated {e['event_date']}" in builder._evidence_item(ctx, e)
        line = next(x for x in docs[(as_of, "en")]["summary"]["regimes"] if x["id"] == rid)["line"]
        assert ("rests on" in line) == bool(r["rests_on_stale"]), (rid, line)


def test_old_difficulty_drop_is_dated_on_2025_12_09(briefings, docs):
    r = briefings["2025-12-09"].regimes["miner_stress"]
    e = next(x for x in r["evidence"] if x["condition"] == "large_difficulty_drop")
    # the -7.48 % adjustment of 2025-06-29 is 163 days before 2025-12-09 (limit 90 days)
    assert (e["event_date"], e["event_age_days"], e["old_event"]) == ("2025-06-29", 163, True)
    assert r["state"] == "stress" and r["rests_on_stale"] is True  # without it: one signal, "watch"
    doc = docs[("2025-12-09", "en")]
    assert next(x for x in doc["summary"]["regimes"] if x["id"] == "miner_stress")["line"] == \
        "Miner stress: Stress (rests on an old event)"
    mining = next(s for s in doc["sections"] if s["id"] == "mining")
    assert any("at the adjustment of 2025-06-29, 163 days before 2025-12-09, older than the 90-day window"
               in s["text"] for s in mining["sentences"])


def test_regime_resting_on_stale_inputs_says_so(briefings, docs):
    # 2026-06-17: Coin Metrics hash rate ends on 2026-02-12 (published 2026-02-13, 124 days earlier)
    r = briefings["2026-06-17"].regimes["miner_stress"]
    items = {x["metric"]: x for x in r["stale_inputs"]}
    assert items["hash_ribbon"]["published_at"] == "2026-02-13" and items["hash_ribbon"]["age_days"] == 124
    assert r["rests_on_stale"] is True
    caveat = next(x for x in docs[("2026-06-17", "en")]["summary"]["regimes"] if x["id"] == "miner_stress")["caveat"]
    assert caveat.startswith("This reading rests on ") and "published 2026-02-13 (124 days ago)" in caveat


# ---------------------------------------------------------------------------------------------
# staleness counted from the release date
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", DATES)
def test_staleness_counts_from_the_release(as_of, briefings, docs):
    b = briefings[as_of]
    day = pd.Timestamp(as_of)
    for mid, mv in b.metrics.items():
        if mv.status == "unavailable" or mv.published_at is None:
            continue
        assert mv.age_days == (day - pd.Timestamp(mv.published_at)).days, mid
        if mv.next_release_due and mv.frequency in RELEASE_GRACE_DAYS:
            overdue = day > pd.Timestamp(mv.next_release_due) + pd.Timedelta(days=RELEASE_GRACE_DAYS[mv.frequency])
            # a figure of a single-schedule metric is stale exactly when its next release is overdue
            if mv.status == "ok":
                assert not overdue or mv.frequency == "monthly", mid
    # a reference month is never presented as the age: "99 days old" of the issue
    text = " ".join(client_lines(docs[(as_of, "en")]))
    for m in re.finditer(r"latest value is for (\d{4}-\d{2}-\d{2}), (\d+) days before", text):
        pytest.fail(f"age counted from the reference period: {m.group(0)}")


def test_payrolls_age_from_their_real_release(briefings, docs):
    mv = briefings["2025-12-09"].metrics["payrolls_change"]
    # September 2025 payrolls: delayed by the shutdown, released 2025-11-20 = 19 days before 2025-12-09;
    # the next report (October with November) was scheduled for 2025-12-16: not overdue, not stale
    assert (mv.date, mv.published_at, mv.age_days, mv.status, mv.next_release_due) == \
        ("2025-09-01", "2025-11-20", 19, "ok", "2025-12-16")
    cpi = briefings["2025-12-09"].metrics["cpi_yoy"]
    # September CPI released 2025-10-24 (46 days); October CPI was never published, November due 2025-12-18
    assert (cpi.published_at, cpi.age_days, cpi.status, cpi.next_release_due) == ("2025-10-24", 46, "ok", "2025-12-18")
    may = briefings["2022-06-15"].metrics["payrolls_change"]
    assert (may.date, may.published_at, may.age_days, may.next_release_due) == ("2022-05-01", "2022-06-03", 12, "2022-07-01")
    en = " ".join(client_lines(docs[("2025-12-09", "en")]))
    assert "99 days" not in en and "stale" not in en


def test_overdue_release_is_stale_with_its_release_date(briefings):
    hr = briefings["2026-06-17"].metrics["hashrate"]
    assert (hr.status, hr.published_at, hr.age_days, hr.next_release_due) == ("stale", "2026-02-13", 124, "2026-02-14")
    assert hr.reason == ("published 2026-02-13, 124 days before 2026-06-17; the next release, due 2026-02-14, "
                         "is not in the data")
    zh = builder.Ctx(briefings["2026-06-17"], "zh-TW").fig("hashrate").text
    assert "於2026年2月13日發布，距資料日2026年6月17日已124天" in zh


# ---------------------------------------------------------------------------------------------
# assumptions labelled with their source; a composition change is not growth
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", DATES)
def test_rmp_projection_is_a_labelled_assumption(as_of, briefings, docs):
    mv = briefings[as_of].metrics["rmp_annual_growth_projection"]
    d = mv.detail
    assert d["assumption"] is True and d["assumption_key"] == "rmp_monthly_bill_purchases_usd"
    # only net purchases grow the balance sheet: 12 x 40e9; the MBS-to-bills swap is reported apart
    assert mv.value == d["net_growth_annual_usd"] == 480e9
    assert d["mbs_to_bills_swap_annual_usd"] == pytest.approx(12 * d["mbs_runoff_monthly_usd"])
    announced = as_of >= "2025-12-10"  # the FOMC announced ~$40B a month of bills on 2025-12-10
    assert (d["assumption_source_date"] == "2025-12-10") == announced
    en = client_lines(docs[(as_of, "en")])
    rmp = [x for x in en if "reserve-management purchases" in x and "$40.0B" in x]
    assert rmp and all("Assumption" in x for x in rmp)
    assert all(("the pace the Fed announced on 2025-12-10" in x) == announced for x in rmp)
    assert not any("bill holdings grow" in x for x in en)
    assert not any(re.search(r"\$480\.0B \([^)]*FRED", x) for x in en)  # never cited as FRED data
    zh = client_lines(docs[(as_of, "zh-TW")])
    assert any(x.startswith(("以下為假設，並非實際數據", "假設：")) for x in zh)


def test_rmp_sentence_on_2025_12_09(docs):
    s = next(s for s in docs[("2025-12-09", "en")]["sections"][0]["sentences"] if "rmp_annual_growth_projection" in s["metrics"])
    # WSHOMCB fell at about $17.1B a month over 182 days: $205.7B a year moves from MBS into bills
    assert s["text"] == (
        "Assumption, not data: if reserve-management purchases run at $40.0B of Treasury bills a month (a "
        "parameter of this briefing; the Fed had announced no pace by 2025-12-09), the balance sheet grows by "
        "$480.0B a year. Reinvesting MBS paydowns into bills (about $17.1B a month, $205.7B a year, measured from "
        "FRED:WSHOMCB) changes the mix of the Fed's assets, not their total, so it is not counted as growth.")


# ---------------------------------------------------------------------------------------------
# no rule-engine output in client text
# ---------------------------------------------------------------------------------------------

RULE_TOKENS = ("≥", "≤", "——成立", "——不成立", "btc_close", "mstr_inferred", "rules file",
               "rules-file", "規則檔", "btcmacro update", "threshold_key", "(negated)")


@pytest.mark.parametrize("lang", ["en", "zh-TW"])
@pytest.mark.parametrize("as_of", DATES)
def test_no_rule_engine_output_in_client_text(as_of, lang, docs):
    for x in client_lines(docs[(as_of, lang)]):
        for tok in RULE_TOKENS:
            assert tok not in x, (tok, x)
        assert not re.search(r" — (yes|no)( \(|$)", x), x  # "−297.5B ≥ +100B — no"
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", re.sub(r"https?://\S+", "", x)), x  # no field keys


def test_evidence_is_prose_on_2025_12_09(docs):
    liq = docs[("2025-12-09", "en")]["sections"][0]["regimes"][0]
    assert ("Net liquidity, change over 91 days: -$297.5B (2025-12-03, FRED:WALCL, WDTGAL, RRPONTSYD), below "
            "-$100.0B, the line for a tightening signal") in liq["evidence"]
    zh = docs[("2025-12-09", "zh-TW")]["sections"][0]["regimes"][0]
    assert any(x.startswith("淨流動性（91 天變動）為-2,975") and "低於「緊縮訊號」門檻" in x for x in zh["evidence"])


def test_json_keeps_the_rule_and_adds_the_prose(briefings):
    e = next(x for x in briefings["2025-12-09"].regimes["liquidity"]["evidence"] if x["condition"] == "netliq_down")
    assert (e["comparison"], e["threshold"], e["threshold_key"]) == ("<=", -100e9, "net_liquidity_change_usd (negated)")
    assert e["meaning"] == {"en": "a tightening signal", "zh-TW": "緊縮訊號"}
    assert e["text"] == ("Net liquidity, change over 91 days: -$297.5B (2025-12-03, FRED:WALCL, WDTGAL, RRPONTSYD), "
                         "below -$100.0B, the line for a tightening signal")
    assert dt.date.fromisoformat(e["published_at"]) <= dt.date(2025, 12, 9)


def test_production_cost_names_its_assumptions(docs):
    # default rules: fleet 25 J/TH, power $0.06/kWh, opex multiplier 1.0 (electricity only)
    mining = next(s for s in docs[("2025-12-09", "en")]["sections"] if s["id"] == "mining")
    t = next(s["text"] for s in mining["sentences"] if "production_cost" in s["metrics"])
    assert t.endswith("on assumptions, not data: a fleet efficiency of 25 J/TH and power at $0.06/kWh, "
                      "electricity only.")
    zh = next(s for s in docs[("2025-12-09", "zh-TW")]["sections"] if s["id"] == "mining")
    zt = next(s["text"] for s in zh["sentences"] if "production_cost" in s["metrics"])
    assert "估算依據的假設（並非實際數據）為：全網礦機平均能效25 J/TH、電價每度0.06美元，僅計電費。" in zt


def test_sentence_follows_an_overridden_threshold(store, tmp_path):
    # with [regimes.macro_trap] sahm_min = 0.2 the 0.23 pp reading (2025-09 UNRATE) crosses the line:
    # the sentence and the regime must say the same
    rules = tmp_path / "rules.toml"
    rules.write_text("[regimes.macro_trap]\nsahm_min = 0.2\n", "utf-8")
    b = api.briefing("2025-12-09", store=store, rules_path=rules, with_charts=False)
    e = next(x for x in b.regimes["macro_trap"]["evidence"] if x["condition"] == "sahm")
    assert e["result"] is True and e["threshold"] == 0.2
    macro = next(s for s in builder.build(b, "en")["sections"] if s["id"] == "macro")
    t = next(s["text"] for s in macro["sentences"] if "sahm_rule" in s["metrics"])
    assert t.endswith("reads 0.23 pp (2025-09-01, FRED:UNRATE), at or above its 0.20-point recession threshold.")


def test_qt_stated_once_without_the_liquidity_regime(store, tmp_path):
    # with the regime disabled the running text states QT itself, from the same two metrics
    rules = tmp_path / "rules.toml"
    rules.write_text("[regimes.liquidity]\nenabled = false\n", "utf-8")
    b = api.briefing("2025-12-09", store=store, rules_path=rules, with_charts=False)
    assert "liquidity" not in b.regimes
    lines = client_lines(builder.build(b, "en"))
    qt_lines = [x for x in lines if x.startswith("QT:")]
    assert len(qt_lines) == 1 and "ended by the FOMC" in qt_lines[0] and "still fell $40.2B" in qt_lines[0]
    assert not any("QT status" in x for x in lines)
