"""Nothing of the user's is touched by ``chain sync``; the index and the store are told apart
before anything is written; an unfinished index is detected; a held lock is named (issue 13).

The node trees used here are a genuine Core datadir written by py-bitcoinkernel from the 256 real
blocks (XOR-obfuscated blk and rev files, ``blocks/index``, ``chainstate``), and the same node
with its blocks re-cut into four blk/rev file pairs so that ``--jobs 2`` really runs in parallel. Its whole tree -- every file's
bytes, size and mtime, every directory's mtime -- is hashed before and after each sync mode.
On the code before the fix, ``--datadir`` went through the kernel, which rewrote the LevelDB
files of ``blocks/index`` and ``chainstate`` (and, for a directory of blk files only, grew
``blk00000.dat``, created ``index/``, ``chainstate/``, ``rev00000.dat`` and ``xor.dat`` and
reported tip 0).
"""

from __future__ import annotations

import gc
import hashlib
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
from _chainhelp import split_blocks_dir, write_blk
from typer.testing import CliRunner

from btcmacro.chain import api
from btcmacro.cli import app

runner = CliRunner()
SRC = str(Path(api.__file__).resolve().parents[2])


def tree_digest(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: (kind, size, mtime_ns, sha256 of the bytes) by relative path."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(d) / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
            out[str(p.relative_to(root))] = ("d" if p.is_dir() else "f", st.st_size, st.st_mtime_ns, digest)
    st = root.stat()
    out["."] = ("d", st.st_size, st.st_mtime_ns, "")
    return out


@pytest.fixture(scope="module")
def core(tmp_path_factory, fixture_blocks) -> Path:
    """A genuine Core datadir written by the kernel: blocks 0-255, blocks/index, chainstate."""
    pbk = pytest.importorskip("pbk")
    core = tmp_path_factory.mktemp("core") / "bitcoin"
    core.mkdir()
    cm = pbk.load_chainman(core, pbk.ChainType.MAINNET)
    for raw in fixture_blocks[1:]:
        cm.process_block(pbk.Block(raw))
    assert cm.get_active_chain().height == 255
    del cm
    gc.collect()  # release the kernel's lock on the datadir
    return core


@pytest.fixture(scope="module")
def split(tmp_path_factory, core) -> Path:
    """The same node with its blocks/ re-cut into 4 blk/rev pairs of 64 blocks (for --jobs 2)."""
    d = tmp_path_factory.mktemp("split") / "bitcoin"
    d.mkdir()
    split_blocks_dir(core / "blocks", d / "blocks", per_file=64)
    shutil.copytree(core / "blocks" / "index", d / "blocks" / "index")
    shutil.copytree(core / "chainstate", d / "chainstate")
    assert len(list((d / "blocks").glob("rev*.dat"))) == 4
    return d


def _sync(args: list[str], index: Path):
    return runner.invoke(app, ["chain", "sync", *args, "--index", str(index), "--no-publish"])


MODES = {
    "datadir": lambda d: ["--datadir", str(d)],
    "datadir-jobs2": lambda d: ["--datadir", str(d), "--jobs", "2"],
    "blocks-dir": lambda d: ["--blocks-dir", str(d / "blocks")],
    "blocks-dir-undo": lambda d: ["--blocks-dir", str(d / "blocks"), "--undo-files"],
    "blocks-dir-undo-jobs2": lambda d: ["--blocks-dir", str(d / "blocks"), "--undo-files", "--jobs", "2"],
    "blocks-dir-jobs2": lambda d: ["--blocks-dir", str(d / "blocks"), "--jobs", "2"],
}


@pytest.mark.parametrize("which", ["core", "split"])
@pytest.mark.parametrize("mode", list(MODES))
def test_sync_never_writes_the_node_directory(request, tmp_path, mode, which):
    node = request.getfixturevalue(which)
    before = tree_digest(node)
    index = tmp_path / "chain.duckdb"
    res = _sync(MODES[mode](node), index)
    assert res.exit_code == 0, res.output
    assert "indexed 256 blocks; tip 255 " in res.stderr
    res = _sync([*MODES[mode](node), "--rebuild"], index)  # and again, from genesis
    assert res.exit_code == 0, res.output
    assert tree_digest(node) == before


def test_datadir_without_block_index_reads_blocks_directly(tmp_path, blocks_path):
    """Only ``blocks/blk00000.dat`` (no index, no rev, no xor): all 256 blocks, nothing written."""
    d = tmp_path / "bare"
    (d / "blocks").mkdir(parents=True)
    shutil.copy(blocks_path / "blk_0_to_255.dat", d / "blocks" / "blk00000.dat")
    before = tree_digest(d)
    res = _sync(["--datadir", str(d)], tmp_path / "chain.duckdb")
    assert res.exit_code == 0, res.output
    assert "indexed 256 blocks; tip 255 " in res.stderr  # not "tip 0"
    assert api.status(tmp_path / "chain.duckdb")["utxo_value_btc"] == 12_800  # the README's total
    assert tree_digest(d) == before


def test_datadir_sync_equals_undo_files_sync(split, tmp_path):
    node = split
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    api.sync(datadir=node, store_path=a, jobs=2)
    api.sync(blocks_dir=node / "blocks", store_path=b, undo_files=True)
    for t in ("blocks", "created", "spends", "flows"):
        q = f"SELECT * FROM {t} ORDER BY ALL"
        with duckdb.connect(str(a), read_only=True) as x, duckdb.connect(str(b), read_only=True) as y:
            if t == "flows":
                from btcmacro.chain.index import ChainIndex

                with ChainIndex(a, read_only=True) as ia, ChainIndex(b, read_only=True) as ib:
                    assert ia.con.execute(q).fetchall() == ib.con.execute(q).fetchall()
            else:
                assert x.execute(q).fetchall() == y.execute(q).fetchall(), t


@pytest.fixture(scope="module")
def blkdir(tmp_path_factory, blocks_path) -> Path:
    """The 256 real blocks as ``blk00000.dat`` (plain, no XOR) in a directory of their own."""
    d = tmp_path_factory.mktemp("blk")
    shutil.copy(blocks_path / "blk_0_to_255.dat", d / "blk00000.dat")
    return d


def _one_line(res, code: int) -> str:
    assert res.exit_code == code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    return lines[0]


@pytest.mark.parametrize("rebuild", [[], ["--rebuild"]])
@pytest.mark.parametrize("flag", ["--blocks-dir", "--datadir"])
def test_missing_input_dir_is_one_line_and_leaves_no_index(tmp_path, flag, rebuild):
    index = tmp_path / "chain.duckdb"
    line = _one_line(_sync([flag, str(tmp_path / "nonexistent"), *rebuild], index), 8)
    assert "nonexistent" in line and "no such" in line
    assert list(tmp_path.iterdir()) == []  # no index left behind


@pytest.mark.parametrize("flag,needle", [("--blocks-dir", "no blk*.dat"), ("--datadir", "no blocks/ directory")])
def test_input_dir_without_blocks_leaves_no_index(tmp_path, flag, needle):
    (tmp_path / "empty").mkdir()
    index = tmp_path / "chain.duckdb"
    line = _one_line(_sync([flag, str(tmp_path / "empty")], index), 8)
    assert needle in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


# ------------------------------------------------------------------ item 5: index vs store


def _fp(p: Path) -> tuple:
    st = p.stat()
    return hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns


def test_index_option_naming_the_store_is_refused(snapshot_store_path, tmp_path, blkdir):
    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    before = _fp(store)
    line = _one_line(_sync(["--blocks-dir", str(blkdir)], store), 8)
    assert "this is the btcmacro store, not the chain index" in line
    assert _fp(store) == before


def test_store_option_naming_the_index_is_refused_before_indexing(tmp_path, blkdir):
    index = tmp_path / "chain.duckdb"
    api.sync(blocks_dir=blkdir, store_path=index)
    before = _fp(index)
    other = tmp_path / "other.duckdb"
    res = runner.invoke(app, ["chain", "sync", "--blocks-dir", str(blkdir), "--index", str(other),
                              "--store", str(index)])
    line = _one_line(res, 6)
    assert "this is the btcmacro chain index, not the store" in line
    assert _fp(index) == before and not other.exists()  # checked before the index was touched


def test_index_option_naming_a_foreign_file_is_refused(tmp_path, blkdir):
    f = tmp_path / "notes.duckdb"
    with duckdb.connect(str(f)) as con:
        con.execute("CREATE TABLE notes (t VARCHAR)")
    text = tmp_path / "hostname"
    text.write_text("myhost\n")
    for target, needle in ((f, "not a btcmacro chain index (it holds tables notes)"),
                           (text, "not a DuckDB database")):
        before = _fp(target)
        line = _one_line(_sync(["--blocks-dir", str(blkdir)], target), 8)
        assert needle in line and "btcmacro rebuild" not in line
        assert _fp(target) == before


# ------------------------------------------------------------------ item 7: unfinished index


def _partial(path: Path, tables: tuple[str, ...]) -> Path:
    with duckdb.connect(str(path)) as con:
        for t in tables:
            con.execute(f"CREATE TABLE {t} (height INTEGER)")
    return path


@pytest.mark.parametrize("tables", [(), ("blocks",), ("blocks", "created", "spends")])
def test_unfinished_index_says_run_sync_again(tmp_path, snapshot_store_path, tables):
    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    index = _partial(tmp_path / "chain.duckdb", tables)
    for args in (["chain", "status", "--index", str(index)],
                 ["chain", "urpd", "--index", str(index), "--store", str(store)],
                 ["chain", "hodl", "--index", str(index)]):
        line = _one_line(runner.invoke(app, args), 8)
        assert "not completely created" in line and "btcmacro chain sync` again" in line


def test_unfinished_index_is_4xx_json_on_the_dashboard(tmp_path, snapshot_store_path):
    from fastapi.testclient import TestClient

    from btcmacro.web import create_app

    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    index = _partial(tmp_path / "chain.duckdb", ("blocks",))
    port = 8799
    with TestClient(create_app(store, index_path=index, port=port), base_url=f"http://127.0.0.1:{port}",
                    raise_server_exceptions=False) as c:
        for url in ("/api/chain/hodl", "/api/chain/urpd"):
            r = c.get(url)
            assert r.status_code == 409, (url, r.status_code, r.text)  # was 500
            body = r.json()
            assert body["error"] == "chain_index_unavailable"
            assert "not completely created" in body["message"] and "again" in body["message"]


def test_sync_completes_an_unfinished_index(tmp_path, blkdir):
    index = _partial(tmp_path / "chain.duckdb", ("blocks",))
    with duckdb.connect(str(index)) as con:
        con.execute("DROP TABLE blocks")  # an empty DuckDB file: the creation was cut short
    r = api.sync(blocks_dir=blkdir, store_path=index)
    assert r.height == 255 and api.status(index)["utxo_value_btc"] == 12_800


def test_kill_right_after_creation_leaves_a_usable_index(tmp_path, blkdir):
    """SIGKILL a sync as soon as its index file appears: never a half-created index."""
    for i in range(3):
        index = tmp_path / f"k{i}" / "chain.duckdb"
        index.parent.mkdir()
        env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        p = subprocess.Popen([sys.executable, "-m", "btcmacro", "chain", "sync", "--blocks-dir", str(blkdir),
                              "--index", str(index), "--no-publish"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not index.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert index.exists()
        res = runner.invoke(app, ["chain", "status", "--format", "json", "--index", str(index)])
        assert res.exit_code == 0, res.output  # the schema is whole: an empty (or synced) index
        assert api.sync(blocks_dir=blkdir, store_path=index).height == 255
        assert [f.name for f in index.parent.iterdir() if ".creating-" in f.name] == []


# ------------------------------------------------------------------ concurrent syncs: who holds the lock


HOLDER = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print('ready', flush=True)
time.sleep(60)
"""


def _hold(path: Path):
    # argv as a `btcmacro chain sync` would show it, with a secret the message must not repeat
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "btcmacro", "chain", "sync",
                          "--rpc-password", "hunter2"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def test_second_sync_names_the_sync_holding_the_index(tmp_path, blkdir):
    index = tmp_path / "chain.duckdb"
    api.sync(blocks_dir=blkdir, store_path=index)
    holder = _hold(index)
    try:
        line = _one_line(_sync(["--blocks-dir", str(blkdir)], index), 5)
    finally:
        holder.kill()
        holder.wait()
    assert f"in use by process {holder.pid} (btcmacro chain sync)" in line
    assert "hunter2" not in line and "Conflicting lock" not in line


def test_sync_names_the_process_holding_the_store(tmp_path, blkdir, snapshot_store_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    holder = _hold(store)
    try:
        res = runner.invoke(app, ["chain", "sync", "--blocks-dir", str(blkdir),
                                  "--index", str(tmp_path / "chain.duckdb"), "--store", str(store)])
        line = _one_line(res, 5)
    finally:
        holder.kill()
        holder.wait()
    assert f"the store is in use by process {holder.pid} (btcmacro chain sync)" in line
    assert "probably" not in line and "hunter2" not in line
