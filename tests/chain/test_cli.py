"""`btcmacro chain sync|status|inspect`: wiring, exit codes and one-line errors (library tested elsewhere)."""

from __future__ import annotations

import json
import shutil

import pytest
from _chainhelp import write_blk
from typer.testing import CliRunner

from btcmacro.cli import app
from btcmacro.store import Store

runner = CliRunner()


def _run(*args, env=None):
    return runner.invoke(app, list(map(str, args)), env=env)


def test_inspect_json(blocks_path):
    r = _run("chain", "inspect", blocks_path / "170.bin", "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["hash"] == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
    assert d["merkle_ok"] is True and d["tx_count"] == 2 and d["time"] == "2009-01-12T03:30:25Z"


def test_inspect_errors(tmp_path, blocks_path):
    r = _run("chain", "inspect", tmp_path / "nope.bin")
    assert r.exit_code == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.bin"
    bad.write_bytes((blocks_path / "170.bin").read_bytes()[:200])
    r = _run("chain", "inspect", bad)
    assert r.exit_code == 8 and "Traceback" not in r.output and r.stderr.startswith("error: ")


def test_sync_status_publish(tmp_path, fixture_blocks, snapshot_store_path):
    write_blk(tmp_path / "blocks", fixture_blocks)
    env = {"BTCMACRO_HOME": str(tmp_path / "home")}
    store, index = tmp_path / "main.duckdb", tmp_path / "chain.duckdb"
    shutil.copy(snapshot_store_path, store)
    r = _run("chain", "sync", "--blocks-dir", tmp_path / "blocks", "--store", store, "--index", index, env=env)
    assert r.exit_code == 0, r.output
    assert "indexed 256 blocks; tip 255 00000000d0a75c86" in r.stderr and "published chain/*" in r.stderr
    assert "256/256" in r.stderr and "blocks/s" in r.stderr and "ETA" in r.stderr  # the progress bar
    r = _run("chain", "status", "--format", "json", "--index", index)
    st = json.loads(r.stdout)
    assert {k: st[k] for k in ("height", "tx_count", "utxo_count", "utxo_value_btc")} == \
        {"height": 255, "tx_count": 263, "utxo_count": 261, "utxo_value_btc": 12800.0}
    assert st["tip_hash"] == "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c"
    r = _run("chain", "status", "--index", index)
    assert r.exit_code == 0 and "12800.0" in r.stdout
    with Store(store, read_only=True) as s:
        assert s.series("chain/cdd").sum() == 150.0
        assert not s.has_series("chain/exchange_balance")
    # an exchange list given once is remembered by later syncs
    csvf = tmp_path / "ex.csv"
    csvf.write_text("# provenance: block 1 coinbase key (test)\nscript\n"
                    + fixture_blocks[1][-71:-4].hex() + "\n")  # block 1's P2PK script (67 bytes)
    r = _run("chain", "sync", "--blocks-dir", tmp_path / "blocks", "--store", store, "--index", index,
             "--exchange-addresses", csvf, env=env)
    assert r.exit_code == 0, r.output
    with Store(store, read_only=True) as s:
        ex = s.series("chain/exchange_balance")
        assert ex["2009-01-08"] == 0 and ex["2009-01-09"] == 50 and ex["2009-01-12"] == 50
        assert "block 1 coinbase key (test)" in s.meta("chain/exchange_balance").provenance
        assert s.get_meta("chain_address_list") == str(csvf.resolve())


def test_sync_usage_and_rebuild_hint(tmp_path, fixture_blocks):
    r = _run("chain", "sync")
    assert r.exit_code == 2 and "exactly one of --datadir, --blocks-dir or --rpc" in r.stderr
    r = _run("chain", "status", "--format", "xml")
    assert r.exit_code == 2
    write_blk(tmp_path / "blocks", fixture_blocks)
    index = tmp_path / "chain.duckdb"
    assert _run("chain", "sync", "--blocks-dir", tmp_path / "blocks", "--index", index, "--no-publish").exit_code == 0
    (tmp_path / "blocks" / "xor.dat").write_bytes(bytes(range(1, 9)))  # the key changed under us
    r = _run("chain", "sync", "--blocks-dir", tmp_path / "blocks", "--index", index, "--no-publish")
    assert r.exit_code == 8 and "--rebuild" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.output


@pytest.mark.parametrize("args,msg", [
    (["--rpc-user", "u"], "give both --rpc-user and --rpc-password"),
    (["--rpc-cookie", "/nonexistent/.cookie"], "cannot read the RPC cookie file"),
])
def test_rpc_auth_options(args, msg, tmp_path):
    r = _run("chain", "sync", "--rpc", "http://127.0.0.1:1", *args, "--index", tmp_path / "i.duckdb")
    assert r.exit_code == 7 and msg in r.stderr


def test_inspect_says_what_the_path_is(tmp_path):
    """A directory, a device or a pipe is named as such (all used to be "no such file"; reading
    /dev/zero would never end)."""
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = [(tmp_path, "is a directory"), (fifo, "is a pipe, not a file"),
             (tmp_path / "nope.bin", "no such file")]
    if os.path.exists("/dev/zero"):
        cases.append(("/dev/zero", "is a device, not a file"))
    for path, words in cases:
        r = _run("chain", "inspect", path)
        assert r.exit_code == 2, (path, r.output)
        assert r.stderr.strip().splitlines() == [
            f"error: {path}: {words}; expected a raw block (.bin) or a blk*.dat file"]


@pytest.mark.parametrize("url,msg", [
    ("not a url", "'not a url' is not a node URL; expected http://HOST:PORT, e.g. http://127.0.0.1:8332"),
    ("127.0.0.1:8332", "'127.0.0.1:8332' is not a node URL"),
    ("http://", "'http://' is not a node URL"),
    ("http://127.0.0.1:99999", "the port is not a number from 1 to 65535"),
    ("http://127.0.0.1:8332/?x=1", "'http://127.0.0.1:8332/?x=1': a node URL has no query or fragment"),
    ("http://user:secretpw@127.0.0.1:8332", "put credentials in --rpc-cookie or --rpc-user/--rpc-password"),
])
def test_rpc_url_is_checked_first(url, msg, tmp_path):
    """A bad --rpc used to give "error: :: cannot connect..." after trying to connect."""
    index = tmp_path / "i.duckdb"
    r = _run("chain", "sync", "--rpc", url, "--rpc-cookie", tmp_path / "none", "--index", index)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --rpc: {msg}"), r.stderr
    assert "secretpw" not in r.output and not index.exists()
