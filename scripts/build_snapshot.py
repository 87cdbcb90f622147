"""Build the embedded snapshot: ../shared/data CSVs -> src/btcmacro/data/snapshot/*.parquet.

Usage::

    python scripts/build_snapshot.py [--shared ../shared/data]
    python scripts/build_snapshot.py --check [--shared ../shared/data]
    python scripts/build_snapshot.py --fixtures [--shared ../shared/data]

Each catalogue series becomes one parquet file (columns ``date``, ``value``) and one row of
``src/btcmacro/data/manifest.csv`` (series id, file, rows, first/last date, sha256, provenance from
the shared MANIFEST.csv). Values are copied, never recomputed; the only joins are the ones the
shared README documents (two TGA week-average fragments; Coin Metrics MVRV from two pulls that
agree to every digit where they overlap).

``--check`` writes nothing: it confirms that the embedded snapshot holds exactly the values the
collection's CSVs give (same dates, same values, same manifest rows and checksums), and that the
copies the tests read (``tests/fixtures/data``: CSVs, blocks, manifest rows) are byte-identical to
the collection's files. It prints one line per difference and exits 1 if there is any, 2 if the
collection is not there. ``.ci/run`` runs it when the collection is present beside the checkout.
``--fixtures`` refreshes those copies from the collection (files, ``SHA256SUMS``, manifest rows)
after the collection changed; it writes only under ``tests/fixtures/data``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "btcmacro" / "data"

# (series_id, csv file(s), column, row filter)
FRED = [
    "WALCL", "WRESBAL", "WDTGAL", "TREAST", "WSHOMCB", "RRPONTSYD", "SOFR", "SOFR30DAYAVG",
    "EFFR", "IORB", "DFEDTARU", "DFEDTARL", "FEDFUNDS", "M2SL", "GDP", "PAYEMS", "UNRATE",
    "JTSJOL", "JTSQUR", "ICSA", "CPIAUCSL", "CPILFESL", "PCEPILFE", "DGS10", "DFII10", "T10Y2Y",
    "T10YIE", "DTWEXBGS", "VIXCLS", "NFCI", "BAMLH0A0HYM2",
]

MAP: list[tuple[str, list[str], str, str | None]] = [
    *[(f"fred/{c}", [f"fred/{c}.csv"], "value", None) for c in FRED],
    ("fred/WTREGEN", ["fred/WTREGEN.csv", "fred/WTREGEN_2026H1.csv"], "value", None),
    ("cmc/btc_close", ["btc/btc_usd_daily_coinmarketcap.csv"], "close", None),
    ("cmc/btc_high", ["btc/btc_usd_daily_coinmarketcap.csv"], "high", "exact_ohlcv"),
    ("cmc/btc_low", ["btc/btc_usd_daily_coinmarketcap.csv"], "low", "exact_ohlcv"),
    ("cmc/btc_volume", ["btc/btc_usd_daily_coinmarketcap.csv"], "volume_usd", "exact_ohlcv"),
    ("yahoo/btc_close", ["btc/btc_usd_daily_yahoo.csv"], "close", None),
    ("cm/PriceUSD", ["onchain/btc_coinmetrics_mvrv_mcap_price_supply.csv"], "PriceUSD", None),
    ("cm/CapMVRVCur", ["onchain/btc_coinmetrics_mvrv_mcap_price_supply.csv",
                       "onchain/btc_coinmetrics_mvrv_realizedcap_cslc.csv"], "CapMVRVCur", None),
    ("cm/CapMrktCurUSD", ["onchain/btc_coinmetrics_mvrv_mcap_price_supply.csv",
                          "onchain/btc_coinmetrics_mvrv_realizedcap_cslc.csv"], "CapMrktCurUSD", None),
    ("cm/CapRealUSD", ["onchain/btc_coinmetrics_mvrv_realizedcap_cslc.csv"], "CapRealUSD", None),
    ("cm/SplyCur", ["onchain/btc_coinmetrics_mvrv_mcap_price_supply.csv"], "SplyCur", None),
    ("cm/HashRate", ["onchain/btc_hashrate_daily.csv"], "value", None),
    ("cm/DiffMean", ["onchain/btc_difficulty_daily.csv"], "value", None),
    ("cm/AdrActCnt", ["onchain/btc_coinmetrics_activity_2025q4.csv"], "AdrActCnt", None),
    ("cm/FeeTotNtv", ["onchain/btc_coinmetrics_activity_2025q4.csv"], "FeeTotNtv", None),
    ("cm/TxCnt", ["onchain/btc_coinmetrics_activity_2025q4.csv"], "TxCnt", None),
    ("cryptoquant/mvrv", ["onchain/btc_cryptoquant_mvrv.csv"], "value", None),
    ("cryptoquant/nupl", ["onchain/btc_cryptoquant_nupl.csv"], "value", None),
    ("cryptoquant/realized_price", ["onchain/btc_cryptoquant_realized_price.csv"], "value", None),
    ("cryptoquant/exchange_netflow", ["onchain/btc_exchange_netflow_cryptoquant.csv"], "netflow_total_btc", None),
    ("bmp/sth_realized_price", ["onchain/btc_sth_realized_price_bmp.csv"], "sth_realized_price", None),
    ("checkonchain/sth_realized_price", ["onchain/btc_sth_lth_realized_price_checkonchain.csv"], "sth_realized_price", None),
    ("checkonchain/lth_realized_price", ["onchain/btc_sth_lth_realized_price_checkonchain.csv"], "lth_realized_price", None),
    ("checkonchain/sth_sopr", ["onchain/btc_sth_lth_sopr_checkonchain.csv"], "sth_sopr", None),
    ("checkonchain/lth_sopr", ["onchain/btc_sth_lth_sopr_checkonchain.csv"], "lth_sopr", None),
    ("bgeometrics/sopr", ["onchain/btc_sopr_sth_lth_bgeometrics.csv"], "sopr", None),
    ("bgeometrics/sth_sopr", ["onchain/btc_sopr_sth_lth_bgeometrics.csv"], "sth_sopr", None),
    ("bgeometrics/lth_sopr", ["onchain/btc_sopr_sth_lth_bgeometrics.csv"], "lth_sopr", None),
    ("bgeometrics/supply_in_profit", ["onchain/btc_supply_in_profit_bgeometrics.csv"], "supply_in_profit_btc", None),
    ("bgeometrics/supply_in_loss", ["onchain/btc_supply_in_loss_bgeometrics.csv"], "supply_in_loss_btc", None),
    ("bgeometrics/exchange_reserve", ["onchain/btc_exchange_reserve_netflow_bgeometrics.csv"], "exchange_reserve_btc", None),
    ("bgeometrics/exchange_netflow", ["onchain/btc_exchange_reserve_netflow_bgeometrics.csv"], "exchange_netflow_btc", None),
    ("blockchaincom/miner_revenue", ["onchain/btc_miner_revenue_usd_blockchaincom.csv"], "miner_revenue_usd", None),
    ("defillama/stablecoin_supply", ["onchain/stablecoins_supply_defillama.csv"], "total_usd", None),
    ("farside/etf_netflow", ["btc/btc_spot_etf_net_flow_farside.csv"], "value", None),
    ("alternative/fear_greed", ["btc/crypto_fear_greed_index.csv"], "value", None),
    ("binance/funding_rate", ["btc/btc_perp_funding_rate_daily_lukmol.csv"], "funding_mean", None),
    ("binance/open_interest", ["btc/btc_oi_binance_btcusdt_2025q4.csv"], "btc_oi_value_usd", None),
    ("venues/funding_mean", ["btc/btc_funding_oi_multivenue.csv"], "fund_mean", None),
    ("venues/open_interest", ["btc/btc_funding_oi_multivenue.csv"], "oi_total_usd", None),
    ("yahoo/gold_close", ["markets/gold_close_daily.csv"], "value", None),
    ("yahoo/gld_close", ["markets/gld_etf_daily_yahoo.csv"], "close", None),
    ("markets/dxy_close", ["markets/dxy_daily.csv"], "close", None),
    ("sec/mstr_btc_acquired", ["btc/mstr_btc_purchases_8k.csv"], "btc_acquired", None),
    ("sec/mstr_avg_price", ["btc/mstr_btc_purchases_8k.csv"], "avg_price_usd", None),
    ("sec/mstr_holdings", ["btc/mstr_btc_purchases_8k.csv"], "cumulative_holdings_btc", None),
    ("sec/mstr_total_cost", ["btc/mstr_btc_purchases_8k.csv"], "total_cost_usd", None),
    ("sec/mstr_inferred", ["btc/mstr_btc_purchases_8k.csv"], "inferred", None),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(shared: Path) -> dict[str, dict]:
    with open(shared / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


def series_frame(shared: Path, sid: str, files: list[str], col: str, filt: str | None) -> pd.DataFrame:
    """One catalogue series (``date``, ``value``) from the collection's CSV file(s), as built."""
    parts = []
    for fn in files:
        df = pd.read_csv(shared / fn)
        if filt == "exact_ohlcv":
            df = df[df["approx_ohlcv"] == 0]
        part = pd.DataFrame({"date": pd.to_datetime(df["date"]), "value": pd.to_numeric(df[col])})
        parts.append(part.dropna(subset=["value"]))
    # earlier files win where two pulls overlap (the README shows they agree)
    out = pd.concat(parts).drop_duplicates("date", keep="first").sort_values("date")
    if out["date"].duplicated().any():
        sys.exit(f"{sid}: duplicate dates after joining {files}")
    return out.reset_index(drop=True)


def manifest_row(sid: str, files: list[str], out: pd.DataFrame, manifest: dict[str, dict]) -> dict:
    """The snapshot manifest row of one series, without its file checksum."""
    prov = "; ".join(
        f"{manifest[f]['source_repo']} {manifest[f]['source_path']} @ {manifest[f]['source_commit'][:12]}"
        for f in files
    )
    return {
        "series_id": sid, "file": f"snapshot/{sid.replace('/', '__')}.parquet", "rows": len(out),
        "first_date": out["date"].min().date().isoformat(),
        "last_date": out["date"].max().date().isoformat(),
        "sha256": "", "shared_files": ";".join(files), "provenance": prov,
    }


def build(shared: Path) -> list[dict]:
    manifest = read_manifest(shared)
    snap = OUT / "snapshot"
    snap.mkdir(parents=True, exist_ok=True)
    for old in snap.glob("*.parquet"):
        old.unlink()
    rows = []
    for sid, files, col, filt in MAP:
        out = series_frame(shared, sid, files, col, filt)
        row = manifest_row(sid, files, out, manifest)
        path = OUT / row["file"]
        out.to_parquet(path, index=False, compression="zstd")
        row["sha256"] = sha256(path)
        rows.append(row)
    rows.append(_fomc_stance(snap))
    with open(OUT / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


#: the copies of the collection's files that the tests read (see tests/fixtures/data/README.md)
FIXTURES = ROOT / "tests" / "fixtures" / "data"


def fixture_files(fixtures: Path = FIXTURES) -> list[str]:
    """The data files of ``tests/fixtures/data`` (as listed in its SHA256SUMS), relative paths."""
    lines = (fixtures / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return [ln.split(maxsplit=1)[1] for ln in lines if ln.strip()]


def refresh_fixtures(shared: Path, fixtures: Path = FIXTURES) -> list[str]:
    """Copy the collection's current version of every fixture file (and ``blocks/README.md``) into
    ``fixtures``, and rewrite its SHA256SUMS and its MANIFEST.csv rows; returns the files that
    changed. To add a file, add a line for it to SHA256SUMS first (any digest)."""
    names = fixture_files(fixtures)
    manifest = read_manifest(shared)
    missing = [n for n in names + ["blocks/README.md"] if not (shared / n).is_file()]
    missing += [n for n in names if n.endswith(".csv") and n not in manifest]
    if missing:
        sys.exit(f"error: {shared}: {', '.join(missing)} not in the collection (or not in its MANIFEST.csv)")
    changed = []
    for name in names + ["blocks/README.md"]:
        data = (shared / name).read_bytes()
        dst = fixtures / name
        if not dst.is_file() or dst.read_bytes() != data:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
            changed.append(name)
    with open(fixtures / "SHA256SUMS", "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(f"{sha256(fixtures / n)}  {n}\n" for n in sorted(names))
    with open(shared / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        fields = csv.DictReader(fh).fieldnames
    with open(fixtures / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(r for f, r in manifest.items() if f in names)
    return changed


def check(shared: Path, fixtures: Path = FIXTURES) -> list[str]:
    """Differences between the collection at ``shared`` and what the repository holds from it:
    the embedded snapshot (values, manifest rows, checksums) and the test fixtures (bytes). Empty
    when everything matches. Writes nothing."""
    problems = []
    manifest = read_manifest(shared)
    with open(OUT / "manifest.csv", newline="", encoding="utf-8") as fh:
        embedded = {r["series_id"]: r for r in csv.DictReader(fh)}
    for sid, files, col, filt in MAP:
        missing = [f for f in files if not (shared / f).is_file()]
        if missing:
            problems.append(f"{sid}: {', '.join(missing)} not in the collection")
            continue
        want = series_frame(shared, sid, files, col, filt)
        row = manifest_row(sid, files, want, manifest)
        have = embedded.get(sid)
        if have is None:
            problems.append(f"{sid}: no row in src/btcmacro/data/manifest.csv")
            continue
        for key in ("file", "rows", "first_date", "last_date", "shared_files", "provenance"):
            if str(row[key]) != have[key]:
                problems.append(f"{sid}: manifest {key} is {have[key]!r}, the collection gives {row[key]!r}")
        path = OUT / have["file"]
        if not path.is_file() or sha256(path) != have["sha256"]:
            problems.append(f"{sid}: {have['file']} is missing or does not match its manifest sha256")
            continue
        got = pd.read_parquet(path)
        same = (len(got) == len(want) and (got["date"].to_numpy() == want["date"].to_numpy()).all()
                and (got["value"].to_numpy() == want["value"].to_numpy()).all())
        if not same:
            problems.append(f"{sid}: {have['file']} differs from {' + '.join(files)} "
                            f"({len(got)} rows embedded, {len(want)} in the collection)")
    for name in fixture_files(fixtures) + ["blocks/README.md"]:
        src, copy = shared / name, fixtures / name
        if not src.is_file():
            problems.append(f"tests/fixtures/data/{name}: not in the collection")
        elif src.read_bytes() != copy.read_bytes():
            problems.append(f"tests/fixtures/data/{name}: differs from the collection's file")
    with open(fixtures / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if manifest.get(r["file"]) != r:
                problems.append(f"tests/fixtures/data/MANIFEST.csv: the row of {r['file']} differs from the collection's")
    return problems


#: FOMC balance-sheet decision -> stance code from its effective date (see catalog fomc/balance_sheet_stance)
STANCE = {"qt_start": 1, "qt_taper": 1, "qt_end": 0, "qt_plan": 0, "purchases": 2, "taper": 3}


def _fomc_stance(snap: Path) -> dict:
    """fomc/balance_sheet_stance from the embedded FOMC calendar: one row per balance-sheet decision,
    dated when it takes effect and published on the decision day (kept in a ``published_at`` column)."""
    cal = pd.read_csv(OUT / "fomc_meetings.csv", dtype=str).fillna("")
    cal = cal[(cal["effective"] != "") & cal["balance_sheet"].isin(list(STANCE))]
    out = pd.DataFrame({"date": pd.to_datetime(cal["effective"]),
                        "value": cal["balance_sheet"].map(STANCE).astype(float),
                        "published_at": pd.to_datetime(cal["end"])}).sort_values("date")
    sid = "fomc/balance_sheet_stance"
    fname = sid.replace("/", "__") + ".parquet"
    path = snap / fname
    out.reset_index(drop=True).to_parquet(path, index=False, compression="zstd")
    return {"series_id": sid, "file": f"snapshot/{fname}", "rows": len(out),
            "first_date": out["date"].min().date().isoformat(), "last_date": out["date"].max().date().isoformat(),
            "sha256": sha256(path), "shared_files": "src/btcmacro/data/fomc_meetings.csv",
            "provenance": "FOMC statements and implementation notes (federalreserve.gov), transcribed in fomc_meetings.csv"}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; compare the snapshot and the test fixtures with the collection")
    ap.add_argument("--fixtures", action="store_true",
                    help="only refresh tests/fixtures/data from the collection (files, SHA256SUMS, MANIFEST.csv)")
    a = ap.parse_args()
    if not (a.shared / "MANIFEST.csv").is_file():
        print(f"error: {a.shared}: no MANIFEST.csv there; expected the real-data collection (pass --shared DIR)",
              file=sys.stderr)
        sys.exit(2)
    if a.check:
        found = check(a.shared)
        for line in found:
            print(f"{a.shared}: {line}", file=sys.stderr)
        if found:
            sys.exit(1)
        print(f"the embedded snapshot ({len(MAP)} series) and the test fixtures match the collection in {a.shared}")
        sys.exit(0)
    if a.fixtures:
        changed = refresh_fixtures(a.shared)
        print(f"tests/fixtures/data: {len(changed)} file(s) refreshed from {a.shared}" +
              (": " + ", ".join(changed) if changed else ""))
        sys.exit(0)
    rows = build(a.shared)
    print(f"wrote {len(rows)} series, {sum(r['rows'] for r in rows):,} rows to {OUT / 'snapshot'}")
