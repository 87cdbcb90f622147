"""``btcmacro update`` end to end against a local replay server (RELIABILITY.md T13-T25).

No network: every provider body is served from 127.0.0.1 by pytest-httpserver; time is a
FakeClock, so waits are asserted, never slept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from btcmacro import catalog, http
from btcmacro.catalog import SeriesDef
from btcmacro.errors import AuthError, NotFound, StoreLocked, Unavailable
from btcmacro.http import FakeClock
from btcmacro.store import SeriesMeta, Store
from btcmacro.update import list_sources, run_update
from sources.replay import FIXTURES, isolated_env, load_fixture, replay  # noqa: F401

SRC = Path(__file__).resolve().parent.parent / "src"
FAKE_KEY = "btcmacrofakekey00000000000000042"   # recognisable, FRED-shaped (32 lower alnum)
TODAY = dt.date(2024, 1, 20)
CM_OPTS = {"coinmetrics": {"series": ["cm/PriceUSD", "cm/CapMVRVCur"], "page_size": 2}}


def cm_last_page() -> str:
    return load_fixture(FIXTURES / "coinmetrics/three_pages.json")["http"][2]["body"]


def fred_body(code_rows) -> str:
    return json.dumps({"realtime_start": "2024-01-01", "realtime_end": "9999-12-31", "count": len(code_rows),
                       "offset": 0, "limit": 100000, "observations": [
                           {"realtime_start": p, "realtime_end": "9999-12-31", "date": d, "value": v}
                           for d, v, p in code_rows]})


WALCL = [("2024-01-03", "7681024", "2024-01-04"), ("2024-01-10", "7686710", "2024-01-11")]


def seed(path: Path) -> str:
    """A store holding one earlier CM row, so 'before' is not empty. Returns its checksum."""
    with Store(path) as st:
        st.write_series(catalog.get("cm/PriceUSD").meta(), __import__("pandas").DataFrame(
            {"date": ["2023-12-31"], "value": [42265.0], "published_at": ["2024-01-01"]}))
        return st.checksum()


def checksum(path: Path) -> str:
    with Store(path, read_only=True) as st:
        return st.checksum()


# -- T13: SIGKILL at each stage -------------------------------------------------------------------
KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys, datetime as dt
    from btcmacro import update, store
    stage = sys.argv[2]
    def die(s):
        if s == stage:
            os.kill(os.getpid(), signal.SIGKILL)
    update.STAGE_HOOK = die
    store.Store._hook = staticmethod(die)
    update.run_update(sys.argv[1], ["coinmetrics"], since="2024-01-01", today=dt.date(2024, 1, 20),
                      options={"coinmetrics": {"series": ["cm/PriceUSD", "cm/CapMVRVCur"], "page_size": 2}})
    print("completed")
""")


@pytest.mark.parametrize("stage", ["after_fetch", "mid_insert", "checkpoint", "before_commit"])
def test_sigkill_leaves_before_or_after_and_next_run_completes(stage, replay, tmp_path):
    replay.add("/timeseries/asset-metrics", body=cm_last_page(), repeat=True)
    path, ref = tmp_path / "s.duckdb", tmp_path / "ref.duckdb"
    before = seed(path)
    shutil.copy(path, ref)
    run_update(ref, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS, clock=FakeClock())
    after = checksum(ref)
    assert after != before
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    p = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(path), stage], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == -signal.SIGKILL, p.stderr[-500:]
    assert "completed" not in p.stdout
    assert checksum(path) in (before, after)
    rep = run_update(path, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS,
                     clock=FakeClock())
    assert rep.ok, rep.all_errors()
    assert checksum(path) == after


# -- T14: injected write failure ------------------------------------------------------------------
def test_write_failure_rolls_back_names_path_and_series(replay, tmp_path, monkeypatch):
    replay.add("/timeseries/asset-metrics", body=cm_last_page(), repeat=True)
    path = tmp_path / "s.duckdb"
    before = seed(path)

    def disk_full(stage):
        if stage == "mid_insert":
            raise duckdb.IOException("IO Error: Could not write file: No space left on device")

    monkeypatch.setattr(Store, "_hook", staticmethod(disk_full))
    rep = run_update(path, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS,
                     clock=FakeClock())
    assert not rep.ok
    (msg,) = rep.all_errors()
    assert str(path) in msg and "cm/PriceUSD" in msg and "No space left" in msg
    monkeypatch.setattr(Store, "_hook", None)
    assert checksum(path) == before


def test_cli_write_failure_exits_nonzero_one_line(replay, tmp_path, monkeypatch):
    from btcmacro.cli_update import register

    replay.add("/timeseries/asset-metrics", body=cm_last_page(), repeat=True)
    path = tmp_path / "s.duckdb"
    before = seed(path)
    monkeypatch.setattr(Store, "_hook", staticmethod(
        lambda s: (_ for _ in ()).throw(OSError(28, "No space left on device")) if s == "before_commit" else None))
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["update", "--source", "coinmetrics", "--since", "2024-01-01",
                                   "--store", str(path)])
    assert res.exit_code != 0
    out = res.output
    assert "Traceback" not in out
    err_lines = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert len(err_lines) == 1 and str(path) in err_lines[0] and "cm/" in err_lines[0]
    monkeypatch.setattr(Store, "_hook", None)
    assert checksum(path) == before


# -- T15: second writer ---------------------------------------------------------------------------
def test_second_writer_fails_fast_naming_pid(tmp_path, replay):
    path = tmp_path / "s.duckdb"
    seed(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from btcmacro.store import Store; s=Store(sys.argv[1]);"
         " print('ready', flush=True); time.sleep(60)", str(path)],
        env={**os.environ, "PYTHONPATH": str(SRC)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        with pytest.raises(StoreLocked) as ei:
            run_update(path, ["coinmetrics"], clock=FakeClock())
        assert time.monotonic() - t0 < 1.0
        assert str(holder.pid) in str(ei.value)
        assert replay.log == []  # nothing fetched when the store is busy
    finally:
        holder.kill()
        holder.wait()
    assert run_update(path, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS,
                      clock=FakeClock()).requests >= 1


def test_update_waits_out_a_brief_dashboard_read(tmp_path, replay):
    """A dashboard page holds a read-only connection for a moment: the update retries the open
    (``_open_for_update``, <= 0.9 s) instead of failing, then runs normally."""
    replay.add("/timeseries/asset-metrics", body=cm_last_page(), repeat=True)
    path = tmp_path / "s.duckdb"
    seed(path)
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from btcmacro.store import Store;"
         " s=Store(sys.argv[1], read_only=True); print('ready', flush=True); time.sleep(0.4); s.close();"
         " print('closed', flush=True); time.sleep(30)", str(path)],
        env={**os.environ, "PYTHONPATH": str(SRC)}, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        rep = run_update(path, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS,
                         clock=FakeClock())
        waited = time.monotonic() - t0
        assert reader.stdout.readline().strip() == "closed"  # the reader really held the file
    finally:
        reader.kill()
        reader.wait()
    assert rep.ok, rep.all_errors()
    assert waited < 5.0
    with Store(path, read_only=True) as st:
        assert st.counts() == (2, 5)  # seeded row + the page's rows


# -- T18: idempotent ------------------------------------------------------------------------------
def test_same_update_twice_is_idempotent(replay, tmp_path):
    fx = load_fixture(FIXTURES / "fred/alfred_vintages.json")
    for _ in range(2):
        replay.add_fixture_http(fx["http"])
        replay.add_fixture_http(load_fixture(FIXTURES / "coinmetrics/three_pages.json")["http"])
    os.environ["FRED_API_KEY"] = FAKE_KEY
    try:
        path = tmp_path / "s.duckdb"
        opts = {"fred": {"series": ["fred/PAYEMS"]}, **CM_OPTS}
        r1 = run_update(path, ["fred", "coinmetrics"], since="2024-09-01", today=dt.date(2024, 12, 10),
                        options=opts, clock=FakeClock())
        c1 = checksum(path)
        with Store(path, read_only=True) as st:
            n1 = st.counts()
        r2 = run_update(path, ["fred", "coinmetrics"], since="2024-09-01", today=dt.date(2024, 12, 10),
                        options=opts, clock=FakeClock())
    finally:
        del os.environ["FRED_API_KEY"]
    assert r1.ok and r2.ok, r2.all_errors()
    assert sum(r.new + r.revised for s in r1.sources for r in s.results) == 5 + 12
    assert all(r.new == r.revised == 0 for s in r2.sources for r in s.results)
    assert checksum(path) == c1
    with Store(path, read_only=True) as st:
        assert st.counts() == n1 == (3, 17)
        dup = st.con.execute("SELECT count(*) FROM (SELECT series_id, date, published_at FROM obs "
                             "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
        assert dup == 0


# -- T19: 429 + Retry-After, FRED 120/min -----------------------------------------------------------
def _acquire_times(monkeypatch) -> list[float]:
    """The (fake) clock's time at each rate-limiter grant, appended as requests go out."""
    times: list[float] = []
    orig = http.Limiter.acquire

    def spy(self, c, *a, **k):
        orig(self, c, *a, **k)
        times.append(c.monotonic())

    monkeypatch.setattr(http.Limiter, "acquire", spy)
    return times


def test_fred_429_retry_after_is_honoured(replay, tmp_path, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", FAKE_KEY)
    replay.add("/fred/series/observations", 429, "Too Many Requests. Exceeded Rate Limit",
               {"Retry-After": "3"})
    replay.add("/fred/series/observations", 200, fred_body(WALCL))
    clock = FakeClock()
    times = _acquire_times(monkeypatch)
    rep = run_update(tmp_path / "s.duckdb", ["fred"], since="2024-01-01", today=TODAY,
                     options={"fred": {"series": ["fred/WALCL"]}}, clock=clock)
    assert rep.ok, rep.all_errors()
    assert replay.count() == 2
    assert times[1] - times[0] >= 3.0
    assert 3.0 in clock.sleeps


def test_fred_never_exceeds_120_per_minute(replay, tmp_path, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", FAKE_KEY)
    ids = [f"fred/ZZTEST{i:03d}" for i in range(500)]
    for sid in ids:
        catalog.register(SeriesDef(sid, "FRED", sid, "x", "daily", "same_day"))
    try:
        replay.add("/fred/series/observations", 200, fred_body(WALCL), repeat=True)
        times = _acquire_times(monkeypatch)
        rep = run_update(tmp_path / "s.duckdb", ["fred"], since="2024-01-01", today=TODAY,
                         options={"fred": {"series": ids}}, clock=FakeClock())
    finally:
        for sid in ids:
            catalog.SERIES.pop(sid, None)
    assert rep.ok and replay.count() == 500
    j = 0
    for i, t in enumerate(times):  # sliding 60 s window
        while times[j] <= t - 60.0:
            j += 1
        assert i - j + 1 <= 120
    assert times[-1] - times[0] >= 499 * 0.5


# -- T20: retry classes ---------------------------------------------------------------------------
def test_5xx_three_times_then_ok(replay, tmp_path, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", FAKE_KEY)
    for st in (500, 502, 503):
        replay.add("/fred/series/observations", st, "<html>oops</html>")
    replay.add("/fred/series/observations", 200, fred_body(WALCL))
    clock = FakeClock()
    rep = run_update(tmp_path / "s.duckdb", ["fred"], since="2024-01-01", today=TODAY,
                     options={"fred": {"series": ["fred/WALCL"]}}, clock=clock)
    assert rep.ok and replay.count() == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]  # FRED policy: base 1 s, doubling


def test_5xx_beyond_max_retries_is_unavailable_store_unchanged(replay, tmp_path, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", FAKE_KEY)
    replay.add("/fred/series/observations", 503, "busy", repeat=True)
    path = tmp_path / "s.duckdb"
    before = seed(path)
    rep = run_update(path, ["fred"], since="2024-01-01", today=TODAY,
                     options={"fred": {"series": ["fred/WALCL"]}}, clock=FakeClock())
    from btcmacro.sources import SOURCES

    assert replay.count() == SOURCES["fred"].policy.max_retries + 1
    (exc,) = rep.sources[0].failures
    assert isinstance(exc, Unavailable) and "fred/WALCL" in str(exc) and "503" in str(exc)
    assert checksum(path) == before


def test_deadline_bounds_the_update(replay, tmp_path, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", FAKE_KEY)
    replay.add("/fred/series/observations", 200, fred_body(WALCL), repeat=True)
    rep = run_update(tmp_path / "s.duckdb", ["fred"], since="2024-01-01", today=TODAY,
                     options={"fred": {"series": ["fred/WALCL", "fred/WRESBAL", "fred/WDTGAL"]}},
                     clock=FakeClock(), deadline_s=0.7)
    assert replay.count() == 2  # the third would start after 1.0 s
    assert any("deadline" in e for e in rep.all_errors())


# -- T22: FRED "." is missing, visible in coverage ---------------------------------------------------
def test_fred_dot_is_nan_and_in_coverage(replay, tmp_path, monkeypatch):
    fx = load_fixture(FIXTURES / "fred/json_missing_dot.json")
    monkeypatch.setenv("FRED_API_KEY", FAKE_KEY)
    replay.add_fixture_http(fx["http"])
    path = tmp_path / "s.duckdb"
    run_update(path, ["fred"], since="2024-01-01", today=TODAY,
               options={"fred": {"series": ["fred/DGS10"]}}, clock=FakeClock())
    with Store(path, read_only=True) as st:
        cov = st.coverage("fred/DGS10")
        rows = st.con.execute("SELECT count(*), count(value) FROM obs WHERE series_id='fred/DGS10'").fetchone()
    assert cov["rows"] == 3 and cov["missing"] == 1 and cov["missing_dates"] == [dt.date(2024, 1, 15)]
    assert rows == (3, 2)  # a row exists for the holiday, its value is NULL (not 0, not dropped)


# -- T23: pagination ------------------------------------------------------------------------------
def test_pagination_stores_each_row_once_and_page2_failure_writes_nothing(replay, tmp_path):
    ok = load_fixture(FIXTURES / "coinmetrics/three_pages.json")
    replay.add_fixture_http(ok["http"])
    path = tmp_path / "s.duckdb"
    run_update(path, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS, clock=FakeClock())
    with Store(path, read_only=True) as st:
        assert st.counts() == (2, 12)
    tokens = [a.get("next_page_token") for _, a in replay.log]
    assert tokens == [None, "MjAyNC0wMS0wMw", "MjAyNC0wMS0wNQ"]
    # a 5xx burst on page 2 (after retries) names the page and writes nothing
    replay.log.clear()
    replay.add("/timeseries/asset-metrics", 200, ok["http"][0]["body"])
    replay.add("/timeseries/asset-metrics", 500, "boom", repeat=True)
    path2 = tmp_path / "s2.duckdb"
    rep = run_update(path2, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS,
                     clock=FakeClock())
    (msg,) = rep.all_errors()
    assert "page 2" in msg and "coinmetrics" in msg
    with Store(path2, read_only=True) as st:
        assert st.counts() == (0, 0)


# -- T24: ccxt error classes ----------------------------------------------------------------------
KLINES = load_fixture(FIXTURES / "exchanges/binance.json")["http"][0]["body"]


def _ohlcv(replay, timeout_ms=2000):
    import ccxt

    from btcmacro.sources import SOURCES
    from btcmacro.sources.base import Context

    src = SOURCES["exchanges"]
    src._clients.clear()
    src.factory = lambda venue: getattr(ccxt, venue)({"timeout": timeout_ms})
    try:
        ctx = Context(http.Http(clock=FakeClock()), dt.date(2025, 12, 2), {}, dt.date(2025, 12, 1),
                      {"venues": ["binance"]})
        q = next(q for q in src.plan(ctx) if q.key == "ohlcv")
        raw = src.fetch(src.prepare(q, ctx), ctx)
        return src.parse(raw, q)
    finally:
        src.factory = None
        src._clients.clear()


def test_ccxt_rate_limit_and_timeout_are_retried(replay):
    replay.add("/api/v3/klines", 429, json.dumps({"code": -1003, "msg": "Too many requests."}))
    replay.add("/api/v3/klines", 200, "[]", delay=0.45)  # longer than the 300 ms client timeout
    replay.add("/api/v3/klines", 200, KLINES)
    parsed = _ohlcv(replay, timeout_ms=300)
    assert replay.count("/api/v3/klines") == 3
    # the recorded klines: Dec 1, Dec 2 and the still-open Dec 3 candle (closes in binance.json)
    assert parsed.frames["ccxt/binance/btc_close"]["value"].tolist() == [86286.01, 91277.88, 92970.1]


@pytest.mark.parametrize("status,body,exc", [
    (400, {"code": -1121, "msg": "Invalid symbol."}, NotFound),                                  # BadSymbol
    (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, AuthError),  # AuthenticationError
])
def test_ccxt_bad_symbol_and_auth_are_not_retried(replay, status, body, exc):
    replay.add("/api/v3/klines", status, json.dumps(body), repeat=True)
    with pytest.raises(exc):
        _ohlcv(replay)
    assert replay.count("/api/v3/klines") == 1


# -- T25: the key never leaks -----------------------------------------------------------------------
def test_fake_key_never_leaks(replay, tmp_path, monkeypatch, caplog):
    from btcmacro.cli_update import register

    caplog.set_level("DEBUG", logger="btcmacro")
    monkeypatch.setattr(http.SystemClock, "sleep", lambda self, s: None)  # the CLI's backoff, not slept
    monkeypatch.setenv("FRED_API_KEY", FAKE_KEY)
    cfg = Path(os.environ["BTCMACRO_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text('[sources.fred]\nseries = ["fred/WALCL", "fred/DGS10", "fred/EFFR"]\n')
    replay.add("/fred/series/observations", 200, fred_body(WALCL))
    replay.add("/fred/series/observations", 400, json.dumps(
        {"error_code": 400, "error_message": "Bad Request.  The value for variable api_key is not registered."}))
    replay.add("/fred/series/observations", 500, "down", repeat=True)
    path = tmp_path / "s.duckdb"
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["update", "--source", "fred", "--since", "2024-01-01", "--store", str(path)])
    assert res.exit_code == 7  # a source failed: exit 7, as documented
    assert all(a.get("api_key") == FAKE_KEY for _, a in replay.log)  # the key was really used
    assert "fred/DGS10" in res.output and "fred/EFFR" in res.output
    res2 = CliRunner().invoke(app, ["sources", "--store", str(path)], env={"COLUMNS": "250"})
    assert res2.exit_code == 0 and "FRED_API_KEY (set)" in res2.output
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("btcmacro"))
    texts = [res.output, res2.output, ours,
             json.dumps(list_sources(path)), Path(path).read_bytes().decode("latin-1")]
    with Store(path, read_only=True) as st:
        for table in ("obs", "series", "meta"):
            texts.append(st.con.execute(f"SELECT * FROM {table}").df().to_csv())
    assert "observations" in ours and "retrying fred [fred/EFFR]" in ours  # requests were logged
    for t in texts:
        assert FAKE_KEY not in t


def test_secrets_file_must_be_private(tmp_path, monkeypatch):
    from btcmacro import config
    from btcmacro.errors import ConfigError

    cfg = Path(os.environ["BTCMACRO_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    f = cfg / "secrets.toml"
    f.write_text(f'fred_api_key = "{FAKE_KEY}"\n')
    f.chmod(0o644)
    with pytest.raises(ConfigError) as ei:
        config.secret("fred_api_key")
    assert "chmod 600" in str(ei.value) and FAKE_KEY not in str(ei.value)
    f.chmod(0o600)
    assert config.secret("fred_api_key") == FAKE_KEY
    monkeypatch.setenv("BTCMACRO_FRED_API_KEY", "envwins")
    assert config.secret("fred_api_key") == "envwins"


def test_coinmetrics_pro_key_goes_to_the_pro_host(monkeypatch):
    from btcmacro.sources import SOURCES
    from btcmacro.sources.base import Context

    src = SOURCES["coinmetrics"]
    ctx = Context(http.Http(clock=FakeClock()), TODAY, {}, dt.date(2024, 1, 1), {"series": ["cm/PriceUSD"]})
    monkeypatch.delenv("BTCMACRO_URL_COINMETRICS", raising=False)
    req = src.prepare(src.plan(ctx)[0], ctx)
    assert req.url == "https://community-api.coinmetrics.io/v4/timeseries/asset-metrics"
    assert req.param("api_key") is None
    monkeypatch.setenv("COINMETRICS_API_KEY", FAKE_KEY)
    req = src.prepare(src.plan(ctx)[0], ctx)
    assert req.url == "https://api.coinmetrics.io/v4/timeseries/asset-metrics"
    assert req.param("api_key") == FAKE_KEY and FAKE_KEY not in req.where
    monkeypatch.setenv("BTCMACRO_URL_COINMETRICS", "https://cm-mirror.example/v4")  # the variable wins
    assert src.prepare(src.plan(ctx)[0], ctx).url == "https://cm-mirror.example/v4/timeseries/asset-metrics"
    (row,) = [r for r in list_sources() if r["id"] == "coinmetrics"]
    assert row["credentials"] == [{"name": "COINMETRICS_API_KEY", "set": True, "required": False,
                                   "from": "environment", "problem": ""}]


# -- issue 13: offline update, lock held only to commit, one line per source ----------------------
def _closed_port() -> int:
    """A local port nobody listens on (bound then released): connecting to it is refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_update_fails_fast_exit_7_one_line_per_source(tmp_path):
    """Every provider unreachable (all base URLs on a closed local port), stderr not a terminal:
    the old code retried every query with backoff for minutes, printed nothing and exited 1."""
    from btcmacro.sources import SOURCES
    from sources.replay import URL_VARS

    port = _closed_port()
    env = {**os.environ, "PYTHONPATH": str(SRC),
           **{f"BTCMACRO_URL_{v}": f"http://127.0.0.1:{port}" for v in URL_VARS}}
    path = tmp_path / "s.duckdb"
    before = seed(path)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "btcmacro", "update", "--store", str(path)], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    took = time.monotonic() - t0
    assert p.returncode == 7, p.stderr[-800:]
    assert took < 30, took
    lines = p.stderr.strip().splitlines()
    assert "Traceback" not in p.stderr
    for sid in SOURCES:  # a line per source, in order, saying it could not reach its host
        mine = [ln for ln in lines if ln.startswith(f"error: {sid}: cannot reach ")]
        assert mine, (sid, p.stderr)
    assert f"error: fred: cannot reach 127.0.0.1:{port} (connection refused); tried once, none of its " in p.stderr
    assert "error: exchanges: cannot reach binance (connection refused); tried once" in p.stderr
    assert "fred: cannot reach" in lines[0]
    assert lines[-1].startswith("error: no source could be reached (4 hosts tried, once each)")  # + 3 venues
    assert "No data was written" in lines[-1]
    assert checksum(path) == before  # the observations are untouched
    with Store(path, read_only=True) as st:  # each source's status says it failed
        status = json.loads(st.get_meta("source_status/fred"))
    assert status["ok"] is False and "cannot reach" in status["errors"][0]


def test_unreachable_host_is_probed_once_then_skipped():
    """One probe per host: a connection failure on first contact is not retried, and later
    requests to that host are not sent at all; another host is still asked."""
    import httpx

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        if request.url.host == "down.invalid":
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return httpx.Response(200, content=b"ok")

    pol = http.Policy(max_retries=3, backoff_base=1.0)
    clock = FakeClock()
    with http.Http(clock=clock, transport=httpx.MockTransport(handler), probe_once=True) as h:
        for _ in range(3):
            with pytest.raises(http.HostUnreachable) as ei:
                h.get("http://down.invalid/x", policy=pol)
        assert h.get("http://up.test/y", policy=pol).body == b"ok"
    assert calls == ["down.invalid", "up.test"]
    assert clock.sleeps == []  # no backoff spent on a host that never answered
    assert "connection refused" in str(ei.value)
    assert h.down == {"down.invalid": "connection refused"}


def test_a_host_that_answered_before_is_still_retried():
    """A connection failure after the host has answered in this run is retried under the
    policy (a blip, not an offline machine); only when every retry fails is the host dropped."""
    import httpx

    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) in (2, 3):
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return httpx.Response(200, content=b"ok")

    clock = FakeClock()
    pol = http.Policy(max_retries=3, backoff_base=1.0)
    with http.Http(clock=clock, transport=httpx.MockTransport(handler), probe_once=True) as h:
        h.get("http://up.test/a", policy=pol)
        assert h.get("http://up.test/b", policy=pol).attempts == 3
        assert clock.sleeps == [1.0, 2.0]
        calls.clear()
        handler_fail = lambda r: (_ for _ in ()).throw(httpx.ConnectError("Connection refused"))  # noqa: E731
        h._client._transport = httpx.MockTransport(handler_fail)
        with pytest.raises(http.HostUnreachable):
            h.get("http://up.test/c", policy=pol)
        with pytest.raises(http.HostUnreachable):  # dropped: no further attempt
            h.get("http://up.test/d", policy=pol)


def test_ccxt_connect_timeout_counts_as_unreachable():
    """ccxt reports a connect timeout as RequestTimeout (retryable); its cause says it never
    connected, so the venue is probed once like any other host."""
    import ccxt
    import requests

    from btcmacro.sources.exchanges import classify_ccxt

    calls = []

    def once():
        calls.append(1)
        try:
            raise requests.exceptions.ConnectTimeout("timed out")
        except requests.exceptions.Timeout as e:
            raise ccxt.RequestTimeout("okx GET https://www.okx.com/api/v5/x") from e

    clock = FakeClock()
    with http.Http(clock=clock, probe_once=True) as h:
        for _ in range(2):
            with pytest.raises(http.HostUnreachable, match="connection timed out"):
                h.call(once, host="okx", policy=http.Policy(max_retries=3), where="exchanges okx",
                       classify=lambda e: classify_ccxt(e, "exchanges okx"))
    assert calls == [1] and clock.sleeps == []


def _reader_count(path: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from btcmacro.store import Store; from btcmacro.web.data import write_lock_holder\n"
            "print(write_lock_holder(sys.argv[1]))\n"
            "with Store(sys.argv[1], read_only=True) as s: print(s.counts())")
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=60)


def test_readers_use_the_store_while_an_update_is_fetching(replay, tmp_path, monkeypatch):
    """The write lock is taken only to commit: with every page fetched and nothing committed yet
    (the update paused at its ``after_fetch`` stage), another process reads the store and the
    dashboard's lock probe sees no writer (old code: StoreLocked, exit 5 / the dashboard's 503).
    A second update of the same store is still refused at once."""
    import threading

    from btcmacro import update

    replay.add("/timeseries/asset-metrics", body=cm_last_page(), repeat=True)
    path = tmp_path / "s.duckdb"
    seed(path)
    paused, resume = threading.Event(), threading.Event()

    def hook(stage):
        if stage == "after_fetch":
            paused.set()
            resume.wait(60)

    monkeypatch.setattr(update, "STAGE_HOOK", hook)
    result: dict = {}
    t = threading.Thread(target=lambda: result.setdefault("rep", run_update(
        path, ["coinmetrics"], since="2024-01-01", today=TODAY, options=CM_OPTS, clock=FakeClock())))
    t.start()
    try:
        assert paused.wait(30), "the update never finished fetching"
        p = _reader_count(path)
        assert p.returncode == 0, p.stderr[-500:]
        # the dashboard sees no update holding the store, and reads the seeded row
        assert p.stdout.split("\n")[:2] == ["None", "(1, 1)"], p.stdout
        t1 = time.monotonic()
        with pytest.raises(StoreLocked, match="another update of this store is running"):
            run_update(path, ["coinmetrics"], clock=FakeClock())
        assert time.monotonic() - t1 < 1.0
    finally:
        resume.set()
        t.join(30)
    assert result["rep"].ok, result["rep"].all_errors()
    with Store(path, read_only=True) as st:
        assert st.counts() == (2, 5)


def test_second_update_names_the_running_one(tmp_path, replay):
    """Another process in the middle of an update (holding the update guard, not DuckDB's lock):
    refused within a second, naming that process (RELIABILITY T15), nothing fetched."""
    path = tmp_path / "s.duckdb"
    before = seed(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from btcmacro.update import _UpdateGuard;"
         " g = _UpdateGuard(sys.argv[1]).__enter__(); print('ready', flush=True); time.sleep(60)",
         str(path)], env={**os.environ, "PYTHONPATH": str(SRC)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        with pytest.raises(StoreLocked) as ei:
            run_update(path, ["coinmetrics"], clock=FakeClock())
        assert time.monotonic() - t0 < 1.0
    finally:
        holder.kill()
        holder.wait()
    if os.path.exists("/proc/locks"):
        assert f"another update of this store is running (process {holder.pid})" in str(ei.value)
    assert replay.log == [] and checksum(path) == before


def test_cli_prints_each_source_as_it_ends_without_a_terminal(replay, tmp_path, monkeypatch):
    """One source answers, one cannot be reached: a summary line for the first, one error line
    for the second, exit 7 (a source failed), the first source's data saved."""
    from btcmacro.cli_update import register

    replay.add("/timeseries/asset-metrics", body=cm_last_page(), repeat=True)
    port = _closed_port()
    monkeypatch.setenv("BTCMACRO_URL_FEARGREED", f"http://127.0.0.1:{port}")
    cfg = Path(os.environ["BTCMACRO_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text(
        '[sources.coinmetrics]\nseries = ["cm/PriceUSD", "cm/CapMVRVCur"]\npage_size = 2\n')
    path = tmp_path / "s.duckdb"
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["update", "-s", "coinmetrics", "-s", "feargreed", "--since",
                                   "2024-01-01", "--store", str(path)])
    assert res.exit_code == 7, res.output
    lines = res.output.splitlines()
    assert "coinmetrics: 2 series saved, 4 new values, 0 revised" in res.output
    assert any(ln.startswith(f"error: feargreed: cannot reach 127.0.0.1:{port} (connection refused)")
               for ln in lines), res.output
    assert "1 of 2 sources failed; what the others fetched is saved" in res.output
    with Store(path, read_only=True) as st:
        assert st.counts()[1] == 4


@pytest.mark.parametrize("body,mode,why", [
    (f'fred_api_key = "{FAKE_KEY}"\n', 0o644,
     "secrets.toml is ignored: it is readable by others (mode 644); run `chmod 600 "),
    (f'fred_api_key = {FAKE_KEY}\n', 0o600, "secrets.toml is ignored: not valid TOML (Invalid value (at line 1"),
    ('[fred]\napi_key = 42\n', 0o600, "secrets.toml: fred_api_key must be a quoted string, found a number"),
])
def test_sources_says_why_a_key_on_disk_is_not_used(tmp_path, body, mode, why):
    """``sources`` used to show a bare "(not set)" for a key sitting in a secrets.toml it refused."""
    from btcmacro.cli_update import register

    cfg = Path(os.environ["BTCMACRO_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    f = cfg / "secrets.toml"
    f.write_text(body)
    f.chmod(mode)
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["sources", "--store", str(tmp_path / "none.duckdb")],
                             env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "FRED_API_KEY (not set: see below)" in res.output
    warn = [ln for ln in res.output.splitlines() if ln.startswith("warning:")]
    assert len(warn) == 1 and warn[0].startswith("warning: FRED_API_KEY") and why in warn[0], res.output
    assert str(f) in warn[0] and FAKE_KEY not in res.output
    if mode == 0o644:  # a key absent from the refused file is simply not set
        assert "COINMETRICS_API_KEY (not set)" in res.output and "COINMETRICS" not in warn[0]
    f.chmod(0o600)
    f.write_text(f'fred_api_key = "{FAKE_KEY}"\n')
    res = CliRunner().invoke(app, ["sources", "--store", str(tmp_path / "none.duckdb")],
                             env={"COLUMNS": "250"})
    assert "FRED_API_KEY (set)" in res.output and "warning" not in res.output
