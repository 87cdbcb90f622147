"""One suite over every source x every recorded case (tests/fixtures/<source>/<case>.json).

Each fixture holds ``input`` (since, today, options, env), ``http`` (the provider's responses in
its documented format, served in order by a local server), and either ``expected`` (the values
the store must hold afterwards, checked by hand against the bodies; ``null`` = published as
missing) or ``error`` (exception class and the words the one-line message must contain), plus
the exact number of requests. A source that cannot meet a case says so in the fixture
(``notimpl``) instead of being skipped silently.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from btcmacro import errors
from btcmacro.http import FakeClock
from btcmacro.store import Store
from btcmacro.update import run_update

from .replay import FIXTURES, load_fixture

CASES = sorted(FIXTURES.glob("*/*.json"))


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_source_case(path, replay, tmp_path, monkeypatch):
    fx = load_fixture(path)
    source = path.parent.name
    if fx.get("notimpl"):
        pytest.xfail(fx["notimpl"])
    inp = fx["input"]
    for k, v in inp.get("env", {}).items():
        if v:
            monkeypatch.setenv(k, v)
        else:
            monkeypatch.delenv(k, raising=False)
    replay.add_fixture_http(fx["http"])
    store_path = tmp_path / "store.duckdb"
    clock = FakeClock()
    report = run_update(store_path, [source], since=inp.get("since"),
                        options={source: inp.get("options", {})}, clock=clock,
                        today=dt.date.fromisoformat(inp["today"]))
    assert len(replay.log) == fx["requests"], replay.log
    srep = report.sources[0]
    with Store(store_path, read_only=True) as st:
        for sid, rows in fx.get("expected", {}).items():
            s = st.series(sid)
            got = [(d.date().isoformat(), v) for d, v in s.items()]
            assert [d for d, _ in got] == [r[0] for r in rows], sid
            for (d, v), r in zip(got, rows):
                if r[1] is None:
                    assert math.isnan(v), (sid, d)
                else:
                    assert v == pytest.approx(r[1], rel=1e-12), (sid, d)
            for r in rows:
                if len(r) > 2:  # explicit publication day (ALFRED realtime_start)
                    vint = st.vintages(sid, r[0])
                    assert str(vint["published_at"].iloc[0])[:10] == r[2]
        for as_of, exp in fx.get("as_of", {}).items():
            for sid, rows in exp.items():
                s = st.series(sid, as_of=as_of)
                assert [d.date().isoformat() for d in s.index] == [r[0] for r in rows], (sid, as_of)
                assert list(s.to_numpy()) == pytest.approx([r[1] for r in rows], rel=1e-12), (sid, as_of)
        err = fx.get("error")
        if err:
            assert srep.failures, f"expected {err['type']}, update said ok"
            exc = srep.failures[0]
            assert type(exc).__name__ == err["type"] or isinstance(exc, getattr(errors, err["type"]))
            line = str(exc)
            assert "\n" not in line
            for word in err["contains"]:
                assert word in line, (word, line)
            # nothing written for the failed series
            failed = [s for s in line.split("[", 1)[1].split("]")[0].split(",")] if "[" in line else []
            for sid in failed:
                sid = sid.split(" ")[0]
                if sid and sid not in fx.get("expected", {}):
                    assert st.series(sid).empty, sid
            assert not report.ok
        else:
            assert report.ok, report.all_errors()
