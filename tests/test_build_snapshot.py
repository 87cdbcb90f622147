"""``scripts/build_snapshot.py --check``: the consistency check between the real-data collection,
the embedded snapshot and the test fixtures, run on a collection made of the fixture copies (the
only part of the collection inside the repository)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _realdata import DATA

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "build_snapshot.py"


@pytest.fixture(scope="module")
def bs():
    spec = importlib.util.spec_from_file_location("build_snapshot", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def collection(tmp_path) -> Path:
    """A collection holding only the files copied into tests/fixtures/data."""
    d = tmp_path / "collection"
    shutil.copytree(DATA, d)
    return d


def _by_series(problems: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.split(":", 1)[0], []).append(p)
    return out


def test_fixture_copies_and_the_series_built_from_them_match(bs, collection):
    problems = _by_series(bs.check(collection))
    complete = [sid for sid, files, _, _ in bs.MAP if all((collection / f).is_file() for f in files)]
    # e.g. WALCL, CoinMarketCap close/high/low/volume, BMP STH realized price, Strategy's 8-K rows
    assert {"fred/WALCL", "cmc/btc_close", "cmc/btc_high", "bmp/sth_realized_price",
            "sec/mstr_holdings"} <= set(complete)
    assert len(complete) >= 20
    for sid in complete:
        assert sid not in problems, problems[sid]
    # series whose CSVs are not copied into the repository are named, not silently passed
    assert problems["fred/WRESBAL"] == ["fred/WRESBAL: fred/WRESBAL.csv not in the collection"]
    assert not [p for p in bs.check(collection) if p.startswith("tests/fixtures")]


def test_a_changed_value_is_named_with_its_series_and_file(bs, collection):
    p = collection / "fred" / "WALCL.csv"
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(k for k, ln in enumerate(lines) if ln.startswith("2025-12-03,"))
    assert lines[i] == "2025-12-03,6535781\n"  # the H.4.1 row the briefing tests quote
    lines[i] = "2025-12-03,6535782\n"
    p.write_text("".join(lines), encoding="utf-8")
    problems = bs.check(collection)
    assert "fred/WALCL: snapshot/fred__WALCL.parquet differs from fred/WALCL.csv (1236 rows embedded, 1236 in the collection)" in problems
    assert "tests/fixtures/data/fred/WALCL.csv: differs from the collection's file" in problems
    assert not [q for q in problems if q.startswith(("fred/SOFR:", "cmc/"))]


def test_a_changed_manifest_row_and_a_missing_block_are_named(bs, collection):
    m = collection / "MANIFEST.csv"
    m.write_text(m.read_text(encoding="utf-8").replace("bddf6ef1b86b21a9af49fd614c37e359f212578f",
                                                      "0" * 40), encoding="utf-8")
    (collection / "blocks" / "413567.bin").unlink()
    problems = bs.check(collection)
    assert "tests/fixtures/data/MANIFEST.csv: the row of fred/WALCL.csv differs from the collection's" in problems
    assert "tests/fixtures/data/blocks/413567.bin: not in the collection" in problems
    # the provenance the snapshot manifest carries comes from the collection's manifest
    assert any(q.startswith("fred/WALCL: manifest provenance is 'jonsflow/risk-model") for q in problems)


def test_check_without_a_collection_is_one_line_and_exit_2(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--check", "--shared", str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "no MANIFEST.csv there" in r.stderr and not r.stdout


def test_check_writes_nothing(bs, collection):
    before = {p: p.stat().st_mtime_ns for p in (ROOT / "src" / "btcmacro" / "data").rglob("*") if p.is_file()}
    bs.check(collection)
    after = {p: p.stat().st_mtime_ns for p in (ROOT / "src" / "btcmacro" / "data").rglob("*") if p.is_file()}
    assert before == after


def test_refresh_fixtures_copies_the_collection_and_rewrites_checksums_and_manifest(bs, collection, tmp_path):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(DATA, fixtures)
    p = collection / "fred" / "WALCL.csv"
    p.write_text(p.read_text(encoding="utf-8") + "2026-08-26,6600000\n", encoding="utf-8")
    m = collection / "MANIFEST.csv"
    m.write_text(m.read_text(encoding="utf-8").replace("2002-12-18,2026-08-19,1236", "2002-12-18,2026-08-26,1237"),
                 encoding="utf-8")
    assert "tests/fixtures/data/fred/WALCL.csv: differs from the collection's file" in bs.check(collection, fixtures)

    assert bs.refresh_fixtures(collection, fixtures) == ["fred/WALCL.csv"]
    assert (fixtures / "fred" / "WALCL.csv").read_bytes() == p.read_bytes()
    sums = dict(reversed(ln.split("  ")) for ln in (fixtures / "SHA256SUMS").read_text().splitlines())
    assert sums["fred/WALCL.csv"] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert sums["blocks/0.bin"] == "5299fac924b5a2fc19a88876a0042c19ac4d11fe69c3f66e47516e26185f9e99"  # README
    assert "fred/WALCL.csv,WALCL," in (fixtures / "MANIFEST.csv").read_text() and \
        ",2002-12-18,2026-08-26,1237," in (fixtures / "MANIFEST.csv").read_text()
    assert not [q for q in bs.check(collection, fixtures) if q.startswith("tests/fixtures")]
    assert bs.refresh_fixtures(collection, fixtures) == []  # idempotent
