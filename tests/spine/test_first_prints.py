"""First prints: when the store holds ALFRED vintages, an as-of read shows them, not the embedded
snapshot's later (revised) value dated by the release calendar. And a rule-dated live value is
never dated after the day it was fetched."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from btcmacro.store import SeriesMeta, Store
from btcmacro.update import _published
from sources.replay import replay  # noqa: F401  (pytest fixture)

META = SeriesMeta("fred/PAYEMS", "FRED", "Nonfarm payrolls", "thousands", "monthly", "employment_situation")


def frame(rows):
    return pd.DataFrame(rows, columns=["date", "value", "published_at"])


def _store_with_snapshot():
    s = Store()
    # the snapshot: one 2026 vintage, May 2024 dated by the calendar (released 2024-06-07)
    s.write_series(META, frame([("2024-04-01", 158100.0, "2024-05-03"),
                                ("2024-05-01", 158300.0, "2024-06-07")]),
                   vintage="snapshot-2026-08-22-abc")
    return s


def test_alfred_first_print_outranks_the_snapshot_value():
    s = _store_with_snapshot()
    # ALFRED: May 2024 first printed 2024-06-07 as 158000, revised 2024-07-05 and 2024-08-02
    alfred = frame([("2024-05-01", 158000.0, "2024-06-07"),
                    ("2024-05-01", 158150.0, "2024-07-05"),
                    ("2024-05-01", 158300.0, "2024-08-02")])
    res = s.write_many([(META, alfred, True)])[0]
    assert res.revised == 3 and res.new == 0
    got = {d: s.series("fred/PAYEMS", as_of=d).loc["2024-05-01"]
           for d in ("2024-06-07", "2024-07-04", "2024-07-05", "2024-08-01", "2024-08-02")}
    assert got == {"2024-06-07": 158000.0, "2024-07-04": 158000.0, "2024-07-05": 158150.0,
                   "2024-08-01": 158150.0, "2024-08-02": 158300.0}
    # the day before the release the month is not there at all
    assert pd.Timestamp("2024-05-01") not in s.series("fred/PAYEMS", as_of="2024-06-06").index
    # latest read: the newest vintage; April (no ALFRED rows) keeps the snapshot value
    assert s.series("fred/PAYEMS").loc["2024-05-01"] == 158300.0
    assert s.series("fred/PAYEMS", as_of="2024-06-07").loc["2024-04-01"] == 158100.0
    # re-fetching the same vintages changes nothing
    again = s.write_many([(META, alfred, True)])[0]
    assert (again.new, again.revised, again.unchanged) == (0, 0, 3)


def test_first_print_equal_to_snapshot_value_adds_no_row():
    s = _store_with_snapshot()
    alfred = frame([("2024-04-01", 158100.0, "2024-05-03"), ("2024-04-01", 158050.0, "2024-06-07")])
    res = s.write_many([(META, alfred, True)])[0]
    assert (res.unchanged, res.revised) == (1, 1)
    assert s.series("fred/PAYEMS", as_of="2024-06-06").loc["2024-04-01"] == 158100.0
    assert s.series("fred/PAYEMS", as_of="2024-06-07").loc["2024-04-01"] == 158050.0


def test_rule_date_of_a_live_fetch_is_capped_at_the_fetch_day():
    # CPI rule: the 26th of the next month; a value fetched on 2026-12-11 was public by then
    pub = _published("cpi", pd.Series(pd.to_datetime(["2026-10-01", "2026-11-01"])), dt.date(2026, 12, 11))
    assert list(pub.dt.date) == [dt.date(2026, 11, 10), dt.date(2026, 12, 10)]  # calendar dates
    pub = _published("cpi", pd.Series(pd.to_datetime(["2027-01-01"])), dt.date(2027, 2, 12))
    assert list(pub.dt.date) == [dt.date(2027, 2, 12)]  # rule says 2027-02-26; fetched on the 12th
    pub = _published("cpi", pd.Series(pd.to_datetime(["2027-01-01"])), dt.date(2027, 3, 1))
    assert list(pub.dt.date) == [dt.date(2027, 2, 26)]


def test_update_with_alfred_over_the_snapshot_store(snapshot_store_path, tmp_path, replay, monkeypatch):
    """End to end, real numbers: the recorded ALFRED response for PAYEMS (tests/fixtures/fred/
    alfred_vintages.json: October 2024 first printed 159,005 on 2024-11-01, revised to 159,061 on
    2024-12-06 with November's first print 159,288) written by `btcmacro update` into a store that
    already holds the snapshot's mid-2026 vintage. As-of reads then give the prints BLS published,
    and the November 2024 change is BLS's headline +227,000."""
    import shutil

    import btcmacro
    from btcmacro.http import FakeClock
    from btcmacro.update import run_update
    from sources.replay import FIXTURES, load_fixture

    path = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, path)
    with Store(path, read_only=True) as st:
        snap_oct = st.series("fred/PAYEMS").loc["2024-10-01"]
    assert snap_oct != 159005.0  # the snapshot holds a later (benchmark-revised) value
    fx = load_fixture(FIXTURES / "fred/alfred_vintages.json")
    replay.add_fixture_http(fx["http"])
    monkeypatch.setenv("FRED_API_KEY", fx["input"]["env"]["FRED_API_KEY"])
    rep = run_update(path, ["fred"], since="2024-09-01", today=dt.date(2024, 12, 10),
                     options={"fred": {"series": ["fred/PAYEMS"]}}, clock=FakeClock())
    assert rep.ok, rep.all_errors()
    with Store(path, read_only=True) as st:
        oct_ = {d: st.series("fred/PAYEMS", as_of=d).get(pd.Timestamp("2024-10-01"))
                for d in ("2024-10-31", "2024-11-01", "2024-12-05", "2024-12-06")}
        assert oct_ == {"2024-10-31": None, "2024-11-01": 159005.0, "2024-12-05": 159005.0,
                        "2024-12-06": 159061.0}
        b = btcmacro.briefing("2024-12-06", store=st, with_charts=False)
        pc = b.metrics["payrolls_change"]
        assert pc.date == "2024-11-01" and pc.value == 227000.0
        assert pc.revised_by is None  # real first prints: no "as revised by" label
        # a month the ALFRED fetch did not cover still says it is the later vintage
        assert btcmacro.briefing("2024-06-30", store=st, with_charts=False).metrics["payrolls_change"].revised_by == "2026-08-07"


def test_backtest_cache_reads_like_the_store():
    """The backtest's in-memory as-of reader ranks a real vintage above the snapshot's copy too."""
    from btcmacro.research.backtest import AsOfCache

    s = _store_with_snapshot()
    s.write_many([(META, frame([("2024-05-01", 158000.0, "2024-06-07"),
                                ("2024-05-01", 158150.0, "2024-07-05")]), True)])
    cache = AsOfCache(s)
    for d in ("2024-06-06", "2024-06-07", "2024-07-04", "2024-07-05", None):
        want = s.frame(["fred/PAYEMS"], as_of=d)
        got = cache.frame(["fred/PAYEMS"], as_of=d)
        assert list(got["value"]) == list(want["value"]), d
        assert list(got["date"]) == list(want["date"]), d
    assert list(cache.frame(["fred/PAYEMS"], as_of="2024-06-07")["value"]) == [158100.0, 158000.0]


def test_a_store_from_an_older_package_is_re_dated(tmp_path):
    """A store loaded with the old first-Friday rule showed February 2024 payrolls on
    2024-03-01; reopening it with this package moves the snapshot row to the real release day
    (2024-03-08) and leaves a live row alone."""
    from btcmacro import api, data

    path = tmp_path / "old.duckdb"
    with Store(path) as st:
        data.install_into(st)
        # what the previous package wrote: the snapshot row dated a week early
        st.con.execute("UPDATE obs SET published_at = DATE '2024-03-01' WHERE series_id = 'fred/PAYEMS' "
                       "AND date = DATE '2024-02-01'")
        # and a live (non-snapshot) revision of another month, which must not move
        st.write_series(META, frame([("2023-12-01", 157000.0, "2024-02-02")]))
        st.set_meta("snapshot_version", "snapshot-2026-08-22-oldpackage")
        assert st.series("fred/PAYEMS", as_of="2024-03-07").index.max() == pd.Timestamp("2024-02-01")
        live = st.vintages("fred/PAYEMS", "2023-12-01")
    with api.open_store(path) as st:  # an outdated store is reloaded once, read-write
        assert st.get_meta("snapshot_version") == data.data_version()
        assert st.series("fred/PAYEMS", as_of="2024-03-07").index.max() == pd.Timestamp("2024-01-01")
        assert st.series("fred/PAYEMS", as_of="2024-03-08").index.max() == pd.Timestamp("2024-02-01")
        assert st.vintages("fred/PAYEMS", "2023-12-01").equals(live)
        before = st.checksum()
    with Store(path) as st:  # idempotent: nothing left to move
        assert st.redate_snapshot("fred/PAYEMS", data.load("fred/PAYEMS").assign(
            published_at=lambda f: __import__("btcmacro").releases.published_dates(
                "employment_situation", f["date"]).to_numpy())) == 0
        assert st.checksum() == before
