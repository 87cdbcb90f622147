"""The materialised metric table (btcmacro.materialize): a briefing read back from it is the
briefing computed from raw observations, point in time, and a changed store or rules file is
never answered from an old entry."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import shutil

import pandas as pd
import pytest

from btcmacro import api, materialize, rules
from btcmacro.registry import Evaluator

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
#: four as-of dates across the snapshot: QT era, hiking cycle, ETF year, the latest close
DATES = ("2019-06-19", "2022-03-16", "2024-06-24", "2026-08-22")


@pytest.fixture()
def store_copy(snapshot_store_path, tmp_path):
    p = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, p)
    return p


@pytest.fixture(scope="module")
def fixture_blocks():
    """The 256 raw blocks of blk_0_to_255.dat, in height order."""
    from _chainhelp import BLOCKS

    from btcmacro.chain.blkfile import scan_file

    if not BLOCKS.exists():
        pytest.skip("real block fixtures not found")
    return [r.data for r in scan_file(BLOCKS / "blk_0_to_255.dat").records]


@pytest.fixture()
def computed(monkeypatch):
    """Counts metric computations from raw observations (Evaluator._compute_variant calls).

    The briefings that assert "nothing recomputed" leave out the research block
    (``with_research=False``): it re-estimates its regression from the store on every call,
    outside the materialised table."""
    calls = []
    real = Evaluator._compute_variant

    def counting(self, v):
        calls.append(v)
        return real(self, v)

    monkeypatch.setattr(Evaluator, "_compute_variant", counting)
    return calls


def _doc(b) -> str:
    return json.dumps(b.to_json(), sort_keys=True)


def test_read_back_equals_recomputed_on_four_dates(store_copy, computed):
    entries = materialize.cache_dir(store_copy)
    docs = {}
    with api.open_store(store_copy) as st:
        for d in DATES:
            first = api.briefing(d, store=st, with_charts=False, now=NOW, with_research=False)  # computes and saves
            assert computed, "the first briefing computes its metrics from the observations"
            computed.clear()
            read = api.briefing(d, store=st, with_charts=False, now=NOW, with_research=False)  # reads
            assert computed == [], "a materialised briefing recomputes nothing"
            assert _doc(read) == _doc(first)
            docs[d] = _doc(read)
        # with the research block (re-estimated from the store on every call, outside the table)
        with_research = [api.briefing(DATES[2], store=st, with_charts=False, now=NOW) for _ in range(2)]
        assert _doc(with_research[0]) == _doc(with_research[1])
        assert with_research[0].research is not None
        # the caching path computes exactly what the plain path computes
        fresh = api.briefing(DATES[1], store=st, with_charts=False, now=NOW, with_research=False, materialized=False)
        assert _doc(fresh) == docs[DATES[1]]
        computed.clear()
        # one entry per as-of date (the briefings' and the earlier dates of "what changed"), each
        # holding only what was published by its date
        files = sorted(entries.glob("*.pkl"))
        assert {f.name[:10] for f in files} >= set(DATES)
        assert len(files) == len({f.name[:10] for f in files})
        for f in files:
            doc = pickle.loads(f.read_bytes())
            as_of = pd.Timestamp(doc["as_of"])
            latest_pub = max(s.max() for s in doc["pub"].values() if len(s))
            assert latest_pub <= as_of, f.name
            assert all(s.index.max() <= as_of for s in doc["variants"].values() if len(s))
        # reading the dates again, in another order, gives each date its own briefing
        for d in reversed(DATES):
            assert _doc(api.briefing(d, store=st, with_charts=False, now=NOW, with_research=False)) == docs[d]
    assert computed == []
    assert len(set(docs.values())) == len(DATES)


def test_html_briefing_with_charts_read_back(store_copy, computed):
    with api.open_store(store_copy) as st:
        a = api.briefing("2024-06-24", store=st, now=NOW, with_research=False)
        computed.clear()
        b = api.briefing("2024-06-24", store=st, now=NOW, with_research=False)
    assert computed == []
    assert _doc(a) == _doc(b) and set(a.charts) == set(b.charts)
    for k in a.charts:
        pd.testing.assert_series_equal(a.charts[k], b.charts[k])


def test_update_invalidates(store_copy, httpserver, monkeypatch, computed):
    """A live update (one Coin Metrics price, recorded in the provider's layout) changes the key:
    the next briefing recomputes and the old entry is removed."""
    from btcmacro import http
    from btcmacro.update import run_update

    with api.open_store(store_copy) as st:
        api.briefing("2026-08-22", store=st, with_charts=False, now=NOW, with_research=False)
    old = sorted(materialize.cache_dir(store_copy).glob("*.pkl"))
    assert "2026-08-22" in {p.name[:10] for p in old}
    monkeypatch.setenv("BTCMACRO_URL_COINMETRICS", httpserver.url_for("/v4").rstrip("/"))
    monkeypatch.delenv("COINMETRICS_API_KEY", raising=False)
    http.reset_limiters()
    body = {"data": [{"asset": "btc", "time": "2026-08-21T00:00:00.000000000Z", "PriceUSD": "99999.5"}]}
    httpserver.expect_request("/v4/timeseries/asset-metrics").respond_with_data(
        json.dumps(body), content_type="application/json")
    rep = run_update(store_copy, ["coinmetrics"], today=dt.date(2026, 8, 27),
                     options={"coinmetrics": {"series": ["cm/PriceUSD"]}})
    assert all(s.ok for s in rep.sources), rep
    computed.clear()
    with api.open_store(store_copy) as st:
        after = api.briefing("2026-08-22", store=st, with_charts=False, now=NOW, with_research=False)
        assert computed, "an update makes the next briefing recompute"
        fresh = api.briefing("2026-08-22", store=st, with_charts=False, now=NOW, with_research=False, materialized=False)
    assert _doc(after) == _doc(fresh)
    new = sorted(materialize.cache_dir(store_copy).glob("*.pkl"))
    assert new and not set(old) & set(new)  # the entries of the old key are gone
    assert len({p.name[11:] for p in new}) == 1  # every entry has the new key


def test_chain_sync_invalidates(store_copy, tmp_path, fixture_blocks, computed):
    """Publishing own-node series (what `chain sync` does after indexing) changes the key."""
    from _chainhelp import write_blk

    from btcmacro.chain import api as chain_api
    from btcmacro.chain import publishing as P
    from btcmacro.store import Store

    with api.open_store(store_copy) as st:
        api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        key_before = materialize.Table(st, rules.load_rules()).key
    write_blk(tmp_path / "blocks", fixture_blocks)
    chain_api.sync(blocks_dir=tmp_path / "blocks", store_path=tmp_path / "chain.duckdb")
    with Store(store_copy) as st:
        assert P.publish(st, tmp_path / "chain.duckdb").full
    computed.clear()
    with api.open_store(store_copy) as st:
        assert materialize.Table(st, rules.load_rules()).key != key_before
        after = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        assert computed
        fresh = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False, materialized=False)
    assert _doc(after) == _doc(fresh)


def test_changed_rules_file_invalidates(store_copy, tmp_path, computed):
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text("[params]\npower_price_usd_per_kwh = 0.12\n", encoding="utf-8")
    with api.open_store(store_copy) as st:
        default = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        computed.clear()
        changed = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False, rules_path=rules_file)
        assert computed, "a different rules file is not answered from the default rules' entry"
        assert _doc(changed) != _doc(default)
        fresh = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False, rules_path=rules_file,
                             materialized=False)
        assert _doc(changed) == _doc(fresh)
        # editing the file again (same name) is a new key too
        rules_file.write_text("[params]\npower_price_usd_per_kwh = 0.03\n", encoding="utf-8")
        computed.clear()
        edited = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False, rules_path=rules_file)
        assert computed and _doc(edited) not in (_doc(changed), _doc(default))


def test_replaced_metric_function_invalidates(store_copy, computed):
    """A metric function replaced at run time (a notebook, a test) is a new key, not stale numbers."""
    from btcmacro.registry import REGISTRY

    with api.open_store(store_copy) as st:
        api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        v = REGISTRY["btc_price"].variants[0]
        real = v.fn
        object.__setattr__(v, "fn", lambda ins, p: real(ins, p) * 2)  # Variant is frozen
        try:
            computed.clear()
            b = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
            assert computed
            fresh = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False, materialized=False)
        finally:
            object.__setattr__(v, "fn", real)
    assert _doc(b) == _doc(fresh)


def test_unwritable_cache_still_briefs(store_copy, computed):
    """Where the cache directory cannot be created the briefing is computed, nothing is written."""
    blocker = materialize.cache_dir(store_copy)
    blocker.write_text("not a directory")
    with api.open_store(store_copy) as st:
        a = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        computed.clear()
        b = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        assert computed  # nothing could be saved, so it computes again
    assert _doc(a) == _doc(b) and blocker.read_text() == "not a directory"
    assert sorted(p.name for p in store_copy.parent.iterdir()) == ["store.duckdb", "store.duckdb.metrics"]


def test_damaged_entry_is_recomputed_and_replaced(store_copy, computed):
    with api.open_store(store_copy) as st:
        a = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        (entry,) = materialize.cache_dir(store_copy).glob("2024-06-24-*.pkl")
        names = sorted(p.name for p in materialize.cache_dir(store_copy).iterdir())
        entry.write_bytes(entry.read_bytes()[:1000])  # truncated
        computed.clear()
        b = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        assert computed
        computed.clear()
        c = api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        assert computed == []
    assert _doc(a) == _doc(b) == _doc(c)
    assert sorted(p.name for p in materialize.cache_dir(store_copy).iterdir()) == names  # no temp files


def test_entries_are_bounded(store_copy, monkeypatch):
    monkeypatch.setattr(materialize, "MAX_ENTRIES", 2)
    with api.open_store(store_copy) as st:
        for d in ("2024-06-20", "2024-06-21", "2024-06-24"):
            api.briefing(d, store=st, with_charts=False, now=NOW, with_research=False, with_changes=False)
    names = sorted(p.name[:10] for p in materialize.cache_dir(store_copy).iterdir())
    assert names == ["2024-06-21", "2024-06-24"]


def test_not_materialized_writes_nothing(store_copy, computed):
    with api.open_store(store_copy) as st:
        api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False, materialized=False)
    assert computed and not materialize.cache_dir(store_copy).exists()


def test_what_changed_reads_earlier_dates_back(store_copy, computed):
    """The earlier dates of "what changed" are materialised too; a later full briefing of such a
    date completes its entry, and reading it back gives the recomputed briefing."""
    with api.open_store(store_copy) as st:
        api.briefing("2024-06-24", store=st, with_charts=False, now=NOW, with_research=False)
        week = materialize.cache_dir(store_copy) / "2024-06-17-{}.pkl".format(
            materialize.Table(st, rules.load_rules()).key)
        assert week.exists()
        partial = len(pickle.loads(week.read_bytes())["variants"])
        full = api.briefing("2024-06-17", store=st, with_charts=False, now=NOW, with_research=False)
        assert len(pickle.loads(week.read_bytes())["variants"]) > partial
        computed.clear()
        again = api.briefing("2024-06-17", store=st, with_charts=False, now=NOW, with_research=False)
        assert computed == []
        fresh = api.briefing("2024-06-17", store=st, with_charts=False, now=NOW, with_research=False, materialized=False)
    assert _doc(again) == _doc(full) == _doc(fresh)
