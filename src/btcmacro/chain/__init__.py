"""Own-node chain engine: blk files or a Core datadir → UTXO lifecycle → daily metrics.

Modules, each consuming the previous one's output (STYLE A10): :mod:`.blkfile` (framing, XOR,
magic scan) → :mod:`.parse` (blocks, txids, merkle) → :mod:`.canonical` (best chain by header
walk) → :mod:`.index` (append-only tables + checkpoint) → :mod:`.lifecycle` (created / spent
rows) → :mod:`.aggregate` (SQL matrix) → :mod:`.metrics` (vectorised daily metrics).
:mod:`.rpc` reads a running node instead of files, :mod:`.undo` Core's ``rev*.dat`` undo
files; :mod:`.publishing` writes the daily metrics into the main store as ``chain/<key>``
series. The public surface is :mod:`.api`.
"""

import importlib

# imported on first use (PEP 562), so that a sync worker process importing one submodule does not
# load pandas and DuckDB through this package
_LAZY = {
    **{n: "btcmacro.chain.api" for n in ("METRIC_KEYS", "SyncResult", "daily_metrics", "default_store_path",
                                         "inspect", "load_matrix", "status", "sync", "urpd")},
    "PublishResult": "btcmacro.chain.publishing", "publish": "btcmacro.chain.publishing",
}
_SUBMODULES = ("addresses", "publishing", "rpc", "undo")

__all__ = ["sync", "status", "inspect", "daily_metrics", "load_matrix", "SyncResult",
           "METRIC_KEYS", "default_store_path", "urpd", "publish", "PublishResult", "rpc",
           "undo", "addresses", "publishing"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"btcmacro.chain.{name}")
    raise AttributeError(f"module 'btcmacro.chain' has no attribute {name!r}")
