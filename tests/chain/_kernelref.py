"""Core's own reading of a datadir (py-bitcoinkernel), as an independent reference for the tests.

btcmacro no longer reads a datadir through the kernel (the kernel opens it read-write; see
docs/chain.md): ``sync(datadir=...)`` reads ``blocks/`` with the engine's own blk/rev readers.
The tests still compare those readers with Core's: :func:`kernel_index` copies the datadir into
a temporary directory, lets the kernel load the copy, and writes the active chain's blocks and
Core's undo data (each spent coin's creation height, amount and script) into a chain index
through the same batch writer the engine uses. The user's datadir is never involved.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
from pathlib import Path

import pytest

_NET = {"mainnet": "MAINNET", "testnet3": "TESTNET", "testnet4": "TESTNET_4", "signet": "SIGNET",
        "regtest": "REGTEST"}


def kernel_index(datadir: Path, index_path: Path, network: str = "mainnet") -> int:
    """Index ``datadir``'s active chain as Core reads it into ``index_path``; returns the tip height."""
    pbk = pytest.importorskip("pbk")
    from btcmacro.chain import blkfile
    from btcmacro.chain.api import _index_batches
    from btcmacro.chain.batch import Batch
    from btcmacro.chain.index import ChainIndex
    from btcmacro.chain.parse import parse_block

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "node"
        shutil.copytree(datadir, copy)
        key = blkfile.read_xor_key(copy / "blocks")
        cm = pbk.load_chainman(copy, getattr(pbk.ChainType, _NET[network]))
        try:
            active = cm.get_active_chain()
            entries, tip = active.block_tree_entries, active.height

            def fill(lo, hi):
                batch = Batch()
                for height in range(lo, hi + 1):
                    entry = entries[height]
                    blk = parse_block(bytes(cm.blocks[entry]), height=height)
                    ch, vals, spent = [], [], []
                    if height > 0:
                        for txs in cm.block_spent_outputs[entry].transactions:
                            for coin in txs.coins:
                                ch.append(coin.confirmation_height)
                                vals.append(coin.output.amount)
                                spent.append((bytes(coin.output.script_pubkey), coin.output.amount))
                    batch.add(blk, height, ch, vals, spent)
                return batch, None

            with ChainIndex(index_path) as ix:
                _index_batches(ix, None, None, tip, fill, blkfile.xor_fingerprint(key), "kernel", "undo",
                               None, [])
            return tip
        finally:
            del cm
            gc.collect()  # release the kernel's lock on the copy before it is deleted
