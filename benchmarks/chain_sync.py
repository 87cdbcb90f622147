"""A real multi-file ``chain sync --blocks-dir --undo-files`` timed with jobs=1 and jobs=N, and the
full-chain projection derived from the measured rates.

What is synced (state it when quoting figures): a **genuine regtest datadir written by
py-bitcoinkernel** (Core's own validation, XOR-obfuscated ``blk``/``rev`` files, real undo
records) holding a synthetic chain of realistic *shape*, because undo data for the real mainnet
blocks in ``tests/fixtures/data/blocks`` does not exist without the blocks they spend:

* 200 coinbase blocks of 2,000 outputs each (the initial coins), then ``--mb`` MB of full blocks
  (≈ 1 MB each, the legacy-transaction limit), every one made of transactions with 1–4 inputs
  (mean 2.4) and 1–4 outputs (mean 2.7), as mainnet's ≈ 3.1 × 10⁹ spent coins over ≈ 1.3 × 10⁹
  transactions; inputs spend random earlier coins (all ages), each input carries a 107-byte
  scriptSig (a P2PKH signature + key's size) and each output a distinct 23-byte script
  (``<20 bytes> OP_DROP OP_TRUE``), so every output is its own "address" in the per-script flows;
* ≈ 450 bytes per transaction, ≈ 5,300 spent coins per MB — denser in inputs than mainnet
  (≈ 3,900 per MB), so per-MB rates here are conservative for the undo work;
* Core writes 128 MiB blk files; the blocks dir is then rewritten as ``--files`` files of equal
  block count (blk + matching rev, XOR by offset kept) so that N workers have files to share.

Both syncs start from an empty index; both must end with identical tables (checked). The
datadir is cached in ``--workdir`` (delete it to regenerate).

    PYTHONPATH=src python benchmarks/chain_sync.py [--mb 200] [--files 8] [--jobs 2] [--cores 16]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "chain"))

from _chainhelp import _cs, _height_push, mine_block, split_blocks_dir  # noqa: E402

from btcmacro.chain import api  # noqa: E402
from btcmacro.chain.index import ChainIndex  # noqa: E402

GENESIS = bytes.fromhex("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")[::-1]
T0 = 1_600_000_000
MAX_BLOCK = 990_000


def _sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def _script(rng: random.Random) -> bytes:
    return b"\x14" + rng.randbytes(20) + b"\x75\x51"  # <20 bytes> OP_DROP OP_TRUE


def _outputs(values, scripts) -> bytes:
    return _cs(len(values)) + b"".join(struct.pack("<q", v) + _cs(len(s)) + s for v, s in zip(values, scripts))


def _coinbase(h: int, values, scripts) -> bytes:
    sig = _height_push(h) + b"\x01\xaa"
    return (struct.pack("<i", 2) + b"\x01" + b"\0" * 32 + b"\xff\xff\xff\xff" + _cs(len(sig)) + sig
            + b"\xff\xff\xff\xff" + _outputs(values, scripts) + b"\0\0\0\0")


def build_datadir(dd: Path, mb: float, seed: int = 7) -> dict:
    """Mine the chain described in the module docstring into ``dd`` through py-bitcoinkernel."""
    import pbk

    rng = random.Random(seed)
    cm = pbk.load_chainman(dd, pbk.ChainType.REGTEST)
    prev, h = GENESIS, 0
    pending: dict[int, list] = {}  # height from which coins are spendable -> coins
    pool: list = []  # (txid, vout, value)
    stats = {"blocks": 0, "txs": 0, "inputs": 0, "bytes": 0}

    def add(txs):
        nonlocal prev, h
        h += 1
        blk = mine_block(prev, h, T0 + h * 600, txs)
        cm.process_block(pbk.Block(blk))
        prev = _sha256d(blk[:80])
        stats["blocks"] += 1
        stats["bytes"] += len(blk)

    for _ in range(200):  # initial coins: 2,000 per coinbase, spendable 100 blocks later
        n = 2000
        sub = 50 * 10**8 >> ((h + 1) // 150)
        vals = [sub // n] * n
        scripts = [_script(rng) for _ in range(n)]
        cb = _coinbase(h + 1, vals, scripts)
        pending[h + 1 + 100] = [(_sha256d(cb), i, v) for i, v in enumerate(vals)]
        add([cb])
    target = mb * 1e6
    while stats["bytes"] < target:
        for k in [k for k in pending if k <= h + 1]:
            pool += pending.pop(k)
        rng.shuffle(pool)
        sub = 50 * 10**8 >> ((h + 1) // 150)
        cb = _coinbase(h + 1, [sub], [_script(rng)])
        txs, size, new = [cb], 90 + len(cb), []
        while size < MAX_BLOCK - 2000 and len(pool) > 8:
            k = rng.choices((1, 2, 3, 4), (0.25, 0.25, 0.35, 0.15))[0]
            m = rng.choices((1, 2, 3, 4), (0.15, 0.25, 0.35, 0.25))[0]
            ins = [pool.pop() for _ in range(k)]
            total = sum(c[2] for c in ins)
            m = min(m, total)
            cuts = sorted(rng.sample(range(1, total), m - 1)) if m > 1 else []
            vals = [b - a for a, b in zip([0, *cuts], [*cuts, total])]
            tx = (struct.pack("<i", 2) + _cs(k)
                  + b"".join(t + struct.pack("<I", v) + b"\x6b\x4c\x69" + rng.randbytes(105) + b"\xff\xff\xff\xff"
                             for t, v, _ in ins)
                  + _outputs(vals, [_script(rng) for _ in vals]) + b"\0\0\0\0")
            tid = _sha256d(tx)
            new += [(tid, i, v) for i, v in enumerate(vals)]
            txs.append(tx)
            size += len(tx)
            stats["txs"] += 1
            stats["inputs"] += k
        pending.setdefault(h + 2, []).extend(new)
        add(txs)
    height = cm.get_active_chain().height
    del cm
    gc.collect()
    if height != h:
        raise RuntimeError(f"the kernel stopped at height {height} of {h}: a generated block is invalid")
    stats["height"] = h
    return stats


def _same_tables(a: Path, b: Path) -> bool:
    """Every table of two indexes holds the same multiset of rows (EXCEPT ALL both ways; ``flows``
    is each index's rows + parquet parts)."""
    ix = ChainIndex(":memory:")  # an empty index: only for its flows_query over ATTACHed ones
    con = ix.con
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    rel = {"a": Path(str(a) + ".flows"), "b": Path(str(b) + ".flows")}
    try:
        for t in ("blocks", "created", "spends", "flows", "checkpoint"):
            for x, y in (("a", "b"), ("b", "a")):
                sx = f"({ix.flows_query(x, rel[x])})" if t == "flows" else f"{x}.{t}"
                sy = f"({ix.flows_query(y, rel[y])})" if t == "flows" else f"{y}.{t}"
                q = f"SELECT count(*) FROM (SELECT * FROM {sx} EXCEPT ALL SELECT * FROM {sy})"
                if con.execute(q).fetchall()[0][0]:
                    return False
        return True
    finally:
        con.close()


def _pool_startup(blocks: Path, jobs: int) -> float:
    """Seconds a sync's first pass loses to starting its pool: the header scan on a fresh pool
    minus the same scan repeated on the now warm pool (best of 2 each)."""
    from btcmacro.chain import parallel

    cold, warm = [], []
    for _ in range(2):
        t = time.perf_counter()
        with parallel.make_pool(jobs) as pool:
            parallel.scan_headers(pool, blocks, "regtest")
            t2 = time.perf_counter()
            parallel.scan_headers(pool, blocks, "regtest")
            warm.append(time.perf_counter() - t2)
        cold.append(t2 - t)
    return max(min(cold) - min(warm), 0.0)


_RSS_CHILD = r"""
import json, os, sys, threading, time
from btcmacro.chain import api


def hwm(pid):  # VmHWM (peak resident set) in kB; exec starts a new one (unlike ru_maxrss)
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    except (OSError, StopIteration):
        return 0


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


peak = {"worker": 0}
stop = threading.Event()


def poll():
    me = os.getpid()
    while not stop.is_set():
        for c in children(me):
            peak["worker"] = max(peak["worker"], hwm(c))
        time.sleep(0.02)


t = threading.Thread(target=poll, daemon=True)
t.start()
api.sync(blocks_dir=sys.argv[1], store_path=sys.argv[2], network="regtest", undo_files=True, jobs=int(sys.argv[3]))
stop.set()
t.join()
print(json.dumps({"parent": hwm(os.getpid()), "worker": peak["worker"]}))
"""


def _peak_rss(blocks: Path, idx: Path, jobs: int) -> tuple[float, float]:
    """Peak RSS in MB of a fresh ``jobs=N`` sync: the parent (DuckDB merge) and the largest worker."""
    import json
    import subprocess

    for p in (idx, Path(str(idx) + ".wal")):
        p.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(blocks), str(idx), str(jobs)],
                         capture_output=True, text=True, check=True, env=env).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["parent"] / 1024, r["worker"] / 1024


def _insert_alone(blocks: Path, work: Path, jobs: int) -> float:
    """Seconds the merge's INSERTs + COMMIT take on an otherwise idle machine: the parts are made
    by the pool first (as a sync makes them), then inserted with the merge's own statements and
    settings (``parallel.insert_chunk``) into an empty index, best of 2. On this 2-core machine
    DuckDB then has the 2 cores a 16-core run leaves to the merge."""
    import shutil
    import tempfile

    from btcmacro.chain import parallel
    from btcmacro.chain.canonical import GENESIS, best_chain

    out = Path(tempfile.mkdtemp(dir=work))
    try:
        with parallel.make_pool(jobs) as pool:
            headers, locs, _, key = parallel.scan_headers(pool, blocks, "regtest")
            chain = best_chain(headers, GENESIS["regtest"])
            per_file = parallel.file_items(chain, locs, {})  # no stale siblings in this chain
            tasks = [(str(p), key, "regtest", True, items, str(out)) for p, items in per_file.items()]
            parts = {Path(r[1]).stem: r[3] for r in pool.imap_unordered(parallel._index_one, tasks)}
        heights = {p.stem: [it.height for it in its] for p, its in per_file.items()}
        chunks = parallel.merge_chunks(heights)
        flows = {st: ps.pop("flows") for st, ps in parts.items() if "flows" in ps}
        best = float("inf")
        for _ in range(2):
            idx = work / "bench-insert.duckdb"
            for p in (idx, Path(str(idx) + ".wal")):
                p.unlink(missing_ok=True)
            shutil.rmtree(Path(str(idx) + ".flows"), ignore_errors=True)
            copies = {}
            for st, f in flows.items():  # adopting moves a part: each repetition gets copies
                copies[st] = str(out / f"copy-{st}.parquet")
                shutil.copyfile(f, copies[st])
            with ChainIndex(idx) as ix:
                ix.con.execute("SET preserve_insertion_order = false")
                ix.con.execute(f"SET memory_limit = '{parallel.MERGE_MEMORY_LIMIT}'")
                t = time.perf_counter()
                ix.con.execute("BEGIN TRANSACTION")
                for st, f in copies.items():
                    parallel.adopt_flows(ix, f, heights[st])
                for c in chunks:
                    parallel.insert_chunk(ix, c, parts)
                ix.con.execute("COMMIT")
                best = min(best, time.perf_counter() - t)
        return best
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _header_bytes_per_block(blocks: Path) -> float:
    """Python heap the parent keeps per block for the header walk (headers, locations, chain)."""
    import tracemalloc

    from btcmacro.chain.canonical import GENESIS, best_chain

    tracemalloc.start()
    headers, by_hash, _, _ = api.scan_dir_headers(blocks, "regtest")
    chain = best_chain(headers, GENESIS["regtest"])
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return used / max(len(chain), 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "btcmacro-chain-sync-bench"),
                    help="where the generated datadir is cached (default: btcmacro-chain-sync-bench in the temp dir)")
    ap.add_argument("--mb", type=float, default=200.0, help="MB of full blocks after the coinbase phase")
    ap.add_argument("--files", type=int, default=8, help="blk/rev files the blocks dir is rewritten as")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--cores", type=int, default=16)
    ap.add_argument("--merge-cores", type=int, default=2, help="cores of --cores left to the merge (DuckDB)")
    ap.add_argument("--chain-gb", type=float, default=800.0)
    ap.add_argument("--inputs", type=float, default=3.1e9)
    ap.add_argument("--blocks", type=float, default=930_000, help="mainnet blocks (header walk memory)")
    ap.add_argument("--rss-files", type=int, default=2,
                    help="also measure peak RSS on this second split (bigger files); 0 skips it")
    a = ap.parse_args()
    work = Path(a.workdir)
    dd = work / f"node-{a.mb:g}"
    if not (dd / "blocks").exists():
        t = time.perf_counter()
        work.mkdir(parents=True, exist_ok=True)
        st = build_datadir(dd, a.mb)
        print(f"built {dd} in {time.perf_counter() - t:.0f} s: {st}")
    blocks = work / f"blocks-{a.mb:g}-{a.files}"
    if not blocks.exists():
        nblk = sum(1 for _ in (dd / "blocks").glob("blk*.dat"))
        from btcmacro.chain import blkfile

        n = sum(len(blkfile.scan_file(f, key=blkfile.read_xor_key(dd / "blocks"), network="regtest").records)
                for f in blkfile.blk_files(dd / "blocks"))
        split_blocks_dir(dd / "blocks", blocks, -(-n // a.files), network="regtest")
        print(f"rewrote {nblk} Core blk file(s) with {n} blocks as {a.files} blk + rev files")
    mb_blk = sum(p.stat().st_size for p in blocks.glob("blk*.dat")) / 1e6
    mb_rev = sum(p.stat().st_size for p in blocks.glob("rev*.dat")) / 1e6
    print(f"blocks dir: {mb_blk:.1f} MB blk + {mb_rev:.1f} MB rev in {a.files} files each; "
          f"{os.cpu_count()} cores seen")

    def run(jobs):
        best, res = float("inf"), None
        for _ in range(a.reps):
            idx = work / f"bench-j{jobs}.duckdb"
            for p in (idx, Path(str(idx) + ".wal")):
                p.unlink(missing_ok=True)
            gc.collect()
            t = time.perf_counter()
            r = api.sync(blocks_dir=blocks, store_path=idx, network="regtest", undo_files=True, jobs=jobs)
            el = time.perf_counter() - t
            if el < best:
                best, res = el, r
        return best, res, idx

    t1, r1, i1 = run(1)
    tn, rn, i_n = run(a.jobs)
    assert _same_tables(i1, i_n), "jobs=1 and jobs=N indexes differ"
    st = api.status(i1)
    with ChainIndex(i1, read_only=True) as ix:
        coins = ix.con.execute("SELECT sum(n) FROM spends").fetchall()[0][0]
    print(f"height {r1.height}, {st['tx_count']:,} txs, {coins:,} spent coins; identical tables")
    print(f"jobs=1 : {t1:6.2f} s  {mb_blk / t1:6.1f} MB/s  {coins / t1 / 1e3:6.0f} k coins/s")
    print(f"jobs={a.jobs} : {tn:6.2f} s  {mb_blk / tn:6.1f} MB/s  {coins / tn / 1e3:6.0f} k coins/s   "
          f"speed-up {t1 / tn:.2f}x   phases " + ", ".join(f"{k} {v:.2f} s" for k, v in rn.timings.items()))
    # projection. The parallel phases (header scan + workers) cost `(scan + workers) x jobs`
    # core-seconds here (wall time x cores: any idle or contended core counts, as do the parent's
    # merge INSERTs that run on the same cores while the workers work: conservative); the full
    # chain scales them by bytes or spent coins (the larger) over the cores left to the workers
    # (`--merge-cores` are kept for DuckDB). The merge INSERTs run in the parent concurrently with
    # the workers (`insert`, measured wall time), so they cost nothing extra unless they are the
    # longer of the two; what is left after the last worker (`merge`: checkpoint + COMMIT) is added.
    t = rn.timings
    k = max(a.chain_gb * 1e3 / mb_blk, a.inputs / coins)
    fixed = _pool_startup(blocks, a.jobs)  # spawning the pool, once per sync: not scaled
    core_s = (max(t.get("scan", 0.0) - fixed, 0.0) + t.get("workers", 0.0)) * a.jobs
    w = max(a.cores - a.merge_cores, 1)
    par = core_s * k / w
    ins = t.get("insert", 0.0) * k
    tail = t.get("merge", 0.0) * k
    print(f"parallel efficiency on {a.jobs} cores: {(t1 / tn) / a.jobs:.2f}")
    print(f"projection, {a.chain_gb:.0f} GB / {a.inputs:.2g} spent coins on {a.cores} cores "
          f"({w} workers + {a.merge_cores} for the merge):")
    print(f"  workers (scan+parse+undo+parts): {par / 60:6.1f} min  "
          f"({core_s:.2f} core-s x {k:,.0f} / {w} cores)")
    print(f"  merge INSERTs, during the workers: {ins / 60:6.1f} min  "
          f"(measured {t.get('insert', 0.0):.2f} s x {k:,.0f})")
    print(f"  merge tail (checkpoint + COMMIT) : {tail / 60:6.1f} min  "
          f"(measured {t.get('merge', 0.0):.2f} s x {k:,.0f})")
    print(f"  pool start (spawn + imports, once): {fixed:5.2f} s  (first header scan minus a warm repeat)")
    print(f"  total = max(workers, INSERTs) + tail: {(max(par, ins) + tail + fixed) / 60:6.1f} min"
          "   (conservative: INSERTs timed while sharing 2 cores with 2 workers)")
    alone = _insert_alone(blocks, work, a.jobs)
    ins2 = alone * k
    print(f"  merge INSERTs + COMMIT on {a.merge_cores} idle cores: {ins2 / 60:6.1f} min  "
          f"(measured {alone:.2f} s x {k:,.0f}, parts re-inserted alone)")
    print(f"  total with the merge on its own cores = max(workers, INSERTs + COMMIT): "
          f"{(max(par, ins2) + fixed) / 60:6.1f} min")
    if a.rss_files:
        # memory: a worker holds one blk file's undo records and rows, so its peak grows with the
        # file; measured on two splits of the same blocks (files of two sizes), fitted linearly
        # and taken at Core's 128 MiB blk file. The parent: its measured peak (Python + DuckDB at
        # this size) + the header walk's heap per block x mainnet blocks + DuckDB's buffer pool
        # limit during the merge (parallel.MERGE_MEMORY_LIMIT, an upper bound).
        from btcmacro.chain import parallel

        big = work / f"blocks-{a.mb:g}-{a.rss_files}"
        if not big.exists():
            n_blocks = r1.height + 1
            split_blocks_dir(dd / "blocks", big, -(-n_blocks // a.rss_files), network="regtest")
        pts = []
        for d in (blocks, big):
            full = [p.stat().st_size / 1e6 for p in d.glob("blk*.dat")]
            par_mb, wk_mb = _peak_rss(d, work / "bench-rss.duckdb", a.jobs)
            pts.append((max(full), par_mb, wk_mb))
            print(f"peak RSS, {len(full)} files (largest {max(full):.0f} MB): parent {par_mb:,.0f} MB, "
                  f"largest worker {wk_mb:,.0f} MB")
        (x0, p0, w0), (x1, p1, w1) = pts
        slope = (w1 - w0) / (x1 - x0) if x1 != x0 else 0.0
        core_file = 128 * 2**20 / 1e6
        w_full = w0 + slope * (core_file - x0)
        per_block = _header_bytes_per_block(blocks)
        limit_mb = float(parallel.MERGE_MEMORY_LIMIT.rstrip("GB")) * 1024
        p_full = max(p0, p1) + per_block * a.blocks / 1e6 + limit_mb
        w = max(a.cores - a.merge_cores, 1)
        print(f"  worker at a {core_file:.0f} MB blk file: {w_full:,.0f} MB "
              f"({w0:,.0f} MB + {slope:.2f} MB per MB of file)")
        print(f"  parent: {max(p0, p1):,.0f} MB measured + {per_block:,.0f} B/block header walk x "
              f"{a.blocks:,.0f} blocks + DuckDB limit {limit_mb:,.0f} MB = {p_full:,.0f} MB")
        print(f"  peak RAM on {a.cores} cores: {w} workers x {w_full:,.0f} + {p_full:,.0f} = "
              f"{(w * w_full + p_full) / 1024:.1f} GB")

if __name__ == "__main__":
    main()
