"""What one sync batch (or one parallel worker's file) adds to the index, before it is written.

Kept free of pandas and DuckDB at import time: the parallel sync's worker processes import only
this, the parser, the undo reader and the compiled kernels (about 60 MB less per worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from btcmacro.chain import blkfile, lifecycle
from btcmacro.chain.parse import Block
from btcmacro.errors import ChainError

if TYPE_CHECKING:
    from btcmacro.chain.index import ChainIndex

__all__ = ["Batch", "Loc", "read_block"]


class Batch:
    """The blocks parsed for one commit and what they add to the index.

    With ``coinmap=True`` (plain blk files) outputs and inputs go to the coin map and spends are
    resolved by SQL at commit; otherwise each block comes with its spent coins (undo files, the
    kernel's undo data or RPC prevouts) and spends and flows are written directly.
    """

    def __init__(self, coinmap: bool = False):
        self.rows: list[lifecycle.BlockRow] = []
        self.last_hash: bytes | None = None
        self.created: list[tuple[int, int, int]] = []
        self.spends: list = []
        self.flows: list = []
        self.coinmap = lifecycle.CoinMapBatch() if coinmap else None

    def add(self, blk: Block, height: int, create_heights=(), values=(), spent=(), scripts=None,
            coins=None) -> None:
        """One block; ``create_heights``/``values``/``spent`` (``(script, value)``) describe the
        coins it spends, in input order (unused in coin-map mode). ``scripts`` (the spent coins'
        scripts, parallel to ``values``) may be given instead of ``spent``, or all of them as
        ``coins`` (:class:`~btcmacro.chain.kernels.UndoCoins`, the undo-file path)."""
        if coins is not None:
            create_heights, values = coins.heights, coins.values
        self.rows.append(lifecycle.block_row(blk, height))
        self.last_hash = blk.header.hash
        if self.coinmap is not None:
            self.coinmap.add(blk, height)
            return
        self.created.append((height, *lifecycle.created_row(blk)))
        if height > 0:
            self.spends.append(lifecycle.undo_spends(height, create_heights, values))
        if coins is not None:
            self.flows.append(lifecycle.block_flows(blk, height, coins=coins))
        elif scripts is not None:
            self.flows.append(lifecycle.block_flows(blk, height, scripts=scripts, values=values))
        else:
            self.flows.append(lifecycle.block_flows(blk, height, list(spent)))

    def write(self, index: "ChainIndex", lo: int, hi: int) -> None:
        """Append everything (the caller holds the transaction); ``lo..hi`` is the batch's range."""
        import pandas as pd

        index.append("blocks", lifecycle.blocks_table(self.rows))
        if self.coinmap is not None:
            index.append("outputs", self.coinmap.outputs())
            index.append("inputs", self.coinmap.inputs())
            index.append("created", self.coinmap.created())
            if self.rows:
                index.resolve_spends(lo, hi)
            return
        index.append("created", pd.DataFrame(self.created, columns=["height", "value", "n"]).astype(
            {"height": "int32", "value": "int64", "n": "int64"}))
        for t in self.spends:
            index.append("spends", t)
        for t in self.flows:
            index.append("flows", t)


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a block's bytes are: file, record offset (of the magic), size."""

    path: Path
    offset: int
    size: int

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def where(self) -> str:
        return f"{self.path.name}@{self.offset:#x}"


def read_block(loc: Loc, key: bytes) -> bytes:
    """The bytes of the block at ``loc`` (XOR removed); the file must still hold them."""
    with open(loc.path, "rb") as fh:
        fh.seek(loc.offset + 8)
        raw = fh.read(loc.size)
    if len(raw) != loc.size:
        raise ChainError(f"block record shrank to {len(raw)} of {loc.size} bytes since the scan", where=loc.where)
    return blkfile.apply_xor(raw, key, loc.offset + 8)
