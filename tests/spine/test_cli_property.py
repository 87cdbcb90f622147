"""Property test (issue 13): the CLI's date, output-path and rules inputs, driven by Hypothesis.

Whatever is typed, the command either succeeds or prints exactly one line on stderr with the
exit code of its class (2 bad usage, 3 bad rules file), and the store is unchanged: the same
query results and the same file bytes before and after. The expected outcome comes from an
oracle written independently of ``btcmacro.inputs``: a date is valid when it round-trips
through ``datetime.date.isoformat`` (so ``20251209`` or ``2025-1-9`` do not) inside the years a
pandas Timestamp holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import math
import os
import shutil
import stat
import tomllib
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from btcmacro.cli import app
from btcmacro.rules.config import default_rules_text
from btcmacro.store import Store

runner = CliRunner()
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# ------------------------------------------------------------------------------------------------
# the store, and what "unchanged" means
# ------------------------------------------------------------------------------------------------

def fingerprint(path: Path) -> tuple:
    """The bytes of the file and the results of queries over every table."""
    with Store(path, read_only=True) as s:
        q = [s.checksum()]
        for t in ("series", "meta"):
            rows = s.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            q.append(hashlib.sha256(repr(rows).encode()).hexdigest())
    return tuple(q), hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def store(snapshot_store_path, tmp_path_factory):
    p = tmp_path_factory.mktemp("prop") / "store.duckdb"
    shutil.copy(snapshot_store_path, p)
    from btcmacro import api

    with Store(p, read_only=True) as s:
        first, last = api.data_range(s)
    before = fingerprint(p)
    yield p, first.date(), last.date()
    assert fingerprint(p) == before, "the store changed"


def check(res, code: int) -> str | None:
    """Exit ``code``; when it is not 0, exactly one stderr line ``error: ...`` and no traceback."""
    assert res.exit_code == code, (code, res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    if code == 0:
        return None
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


# ------------------------------------------------------------------------------------------------
# dates
# ------------------------------------------------------------------------------------------------

def oracle_date(s: str) -> dt.date | None:
    try:
        d = dt.date.fromisoformat(s)
    except ValueError:
        return None
    return d if d.isoformat() == s and 1678 <= d.year <= 2261 else None


good_dates = st.dates(dt.date(1995, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
loose_dates = st.one_of(
    st.sampled_from(["", " ", "NaT", "nat", "None", "20251209", "2025", "Dec 9 2025", "2025-02-30", "2025-13-01",
                     "2025-1-9", "2025-12-09T00:00", "2025-12-09T00:00+02:00", "2025-12-09Z", "2025-12-09 ",
                     "2025/12/09", "0001-01-01", "9999-12-31", "1677-09-21", "２０２５-１２-０９", "today"]),
    st.dates(dt.date(1995, 1, 1), dt.date(2030, 12, 31)).flatmap(
        lambda d: st.sampled_from([d.strftime("%Y%m%d"), d.strftime("%d/%m/%Y"), d.strftime("%b %d %Y"),
                                   d.isoformat() + "T12:00:00+08:00", d.isoformat() + "\n"])),
    st.text(alphabet="0123456789-/:TZ+ .NaT", max_size=14),
)
maybe_date = st.one_of(st.none(), good_dates, loose_dates)


@SETTINGS
@given(start=maybe_date, end=maybe_date, as_of=maybe_date)
def test_dates(store, start, end, as_of):
    path, first, last = store
    args = ["metrics", "show", "fred/WALCL", "--store", str(path)]
    for name, v in (("--start", start), ("--end", end), ("--as-of", as_of)):
        if v is not None:
            args.append(f"{name}={v}")
    parsed = {k: oracle_date(v) if v is not None else None for k, v in (("s", start), ("e", end), ("a", as_of))}
    valid = all(parsed[k] is not None for k, v in (("s", start), ("e", end), ("a", as_of)) if v is not None)
    if valid and parsed["s"] and parsed["e"] and parsed["s"] > parsed["e"]:
        valid = False
    if valid and parsed["a"] and not first <= parsed["a"] <= last:
        valid = False
    line = check(runner.invoke(app, args), 0 if valid else 2)
    if line:
        assert any(n in line for n in ("--start", "--end", "--as-of")), line


# ------------------------------------------------------------------------------------------------
# output paths
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def one_briefing(store):
    """One real briefing, computed once; ``api.briefing`` returns it so each example only writes."""
    from btcmacro import api

    path, _, _ = store
    with api.open_store(path) as s:
        b = api.briefing("2025-12-09", store=s, with_charts=False)
    with mock.patch("btcmacro.api.briefing", lambda *a, **k: b):
        yield "patched"  # (not the briefing itself: Hypothesis prints the fixtures of a failing example)


KINDS = ["new", "existing", "link_to_file", "dangling_link", "directory", "fifo", "device", "missing_parent",
         "parent_is_file", "link_to_directory"]
names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                min_size=1, max_size=40).filter(lambda s: s not in (".", "..") and len(s.encode()) < 200)


def snapshot(d: Path) -> dict:
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = Path(root, n)
            m = os.lstat(p).st_mode
            body = p.read_bytes() if stat.S_ISREG(m) else os.readlink(p) if stat.S_ISLNK(m) else None
            out[str(p.relative_to(d))] = (stat.S_IFMT(m), body)
    return out


def make_device(p: Path) -> bool:
    try:
        os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a private /dev/full
        return True
    except OSError:
        return False


@SETTINGS
@given(kind=st.sampled_from(KINDS), name=names)
def test_out_paths(store, one_briefing, tmp_path_factory, kind, name):
    path, _, _ = store
    d = tmp_path_factory.mktemp("out")
    target = d / name
    ok = kind in ("new", "existing", "link_to_file")
    if kind == "existing":
        target.write_text("old")
    elif kind == "link_to_file":
        (d / "real-file").write_text("old")
        assume(name != "real-file")
        target.symlink_to("real-file")
    elif kind == "dangling_link":
        target.symlink_to("no-such-file")
        assume(name != "no-such-file")
    elif kind == "directory":
        target.mkdir()
    elif kind == "link_to_directory":
        (d / "real-dir").mkdir()
        assume(name != "real-dir")
        target.symlink_to("real-dir")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        assume(make_device(target))
    elif kind == "missing_parent":
        target = d / "missing" / name
    elif kind == "parent_is_file":
        (d / "plain").write_text("mine")
        target = d / "plain" / name
    before = snapshot(d)
    res = runner.invoke(app, ["brief", "--format", "json", "--out", str(target), "--store", str(path)])
    check(res, 0 if ok else 2)
    after = snapshot(d)
    if not ok:
        assert after == before, "a refused --out changed the directory"
        return
    written = d / "real-file" if kind == "link_to_file" else target
    assert json.loads(written.read_text("utf-8"))["as_of"] == "2025-12-09"
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed == {str(written.relative_to(d))}, changed  # nothing else touched, no temp file left
    if kind == "link_to_file":
        assert os.readlink(target) == "real-file"


# ------------------------------------------------------------------------------------------------
# rules
# ------------------------------------------------------------------------------------------------

DEFAULTS = tomllib.loads(default_rules_text())


def flat(doc: dict, prefix: tuple = ()) -> dict[tuple, object]:
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out


RULE_KEYS = sorted(flat(DEFAULTS))


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):  # a TOML basic string: JSON's escapes, plus DEL, which TOML wants escaped
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml_key(k: str) -> str:
    """A TOML key: bare when it can be ("fear_max"), quoted otherwise ("liquidity:turning")."""
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


values = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=5, alphabet="abc:")), max_size=3),
    st.fixed_dictionaries({"a": st.integers(0, 3)}),
)


def must_fail(default, v) -> bool:
    """Values no schema could accept for a key with this default (a partial, independent oracle)."""
    if isinstance(v, float) and not math.isfinite(v):
        return True
    if isinstance(v, dict):
        return True
    if isinstance(default, bool):
        return not isinstance(v, bool)
    if isinstance(default, (int, float)):
        if isinstance(v, (bool, str, list)):
            return True
        return isinstance(default, int) and isinstance(v, float) and not v.is_integer()
    if isinstance(default, list):
        return not isinstance(v, list)
    return False


@SETTINGS
@given(key=st.sampled_from(RULE_KEYS), value=st.one_of(values, st.just("DEFAULT")))
def test_rules(store, one_briefing, tmp_path_factory, key, value):
    path, _, _ = store
    default = flat(DEFAULTS)[key]
    if value == "DEFAULT":
        value = default
    d = tmp_path_factory.mktemp("rules")
    rules = d / "rules.toml"
    rules.write_text(f"[{'.'.join(toml_key(k) for k in key[:-1])}]\n{toml_key(key[-1])} = {toml_value(value)}\n",
                     encoding="utf-8")
    out = d / "b.json"
    res = runner.invoke(app, ["brief", "--rules", str(rules), "--format", "json", "--out", str(out),
                              "--store", str(path)])
    if value == default and type(value) is type(default):
        check(res, 0)
    elif must_fail(default, value):
        check(res, 3)
    else:
        assert res.exit_code in (0, 3), res.output
        check(res, res.exit_code)
    if res.exit_code == 3:
        line = res.stderr.strip()
        assert str(rules) in line and ".".join(key) in line and ("expected" in line or "must be" in line), line
        assert not out.exists()
