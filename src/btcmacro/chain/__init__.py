"""Own-node chain engine: blk files or a Core datadir → UTXO lifecycle → daily metrics.

Modules, each consuming the previous one's output (STYLE A10): :mod:`.blkfile` (framing, XOR,
magic scan) → :mod:`.parse` (blocks, txids, merkle) → :mod:`.canonical` (best chain by header
walk) → :mod:`.index` (append-only tables + checkpoint) → :mod:`.lifecycle` (created / spent
rows) → :mod:`.aggregate` (SQL matrix) → :mod:`.metrics` (vectorised daily metrics).
:mod:`.rpc` reads a running node instead of files, :mod:`.undo` Core's ``rev*.dat`` undo
files; :mod:`.publishing` writes the daily metrics into the main store as ``chain/<key>``
series. The public surface is :mod:`.api`.
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
    urpd,
)
from btcmacro.chain import addresses, publishing, rpc, undo  # noqa: F401,E402
from btcmacro.chain.publishing import PublishResult, publish  # noqa: F401,E402

__all__ = ["sync", "status", "inspect", "daily_metrics", "load_matrix", "SyncResult",
           "METRIC_KEYS", "default_store_path", "urpd", "publish", "PublishResult", "rpc",
           "undo", "addresses", "publishing"]
