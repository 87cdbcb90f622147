"""Own-node chain engine: blk files or a Core datadir → UTXO lifecycle → daily metrics.

Modules, each consuming the previous one's output (STYLE A10): :mod:`.blkfile` (framing, XOR,
magic scan) → :mod:`.parse` (blocks, txids, merkle) → :mod:`.canonical` (best chain by header
walk) → :mod:`.index` (append-only tables + checkpoint) → :mod:`.lifecycle` (created / spent
rows) → :mod:`.aggregate` (SQL matrix) → :mod:`.metrics` (vectorised daily metrics).
The public surface is :mod:`.api`.
"""

from btcmacro.chain.api import (  # noqa: F401
    METRIC_KEYS,
    SyncResult,
    daily_metrics,
    default_store_path,
    inspect,
    load_matrix,
    status,
    sync,
)

__all__ = ["sync", "status", "inspect", "daily_metrics", "load_matrix", "SyncResult",
           "METRIC_KEYS", "default_store_path"]
