"""btcmacro's exceptions: one tree, each class saying whether to retry and where it happened.

::

    BtcmacroError                 base; every instance carries ``where``
    ├── SourceError               a provider answered badly or not at all
    │   ├── RateLimited           retryable; carries ``retry_after`` (seconds)
    │   ├── Unavailable           retryable (5xx, timeout, connection) until retries run out
    │   ├── AuthError             permanent: missing/invalid key; says how to get one
    │   ├── NotFound              permanent: the series/symbol does not exist
    │   └── BadPayload            permanent: the body is not what the provider documents
    ├── StoreError                the DuckDB warehouse
    │   ├── StoreLocked           another process holds the write lock
    │   └── StoreCorrupt          the file is damaged; rebuild it
    ├── DataError                 the embedded snapshot or a user file is damaged
    ├── ChainError                own-node chain input
    │   ├── BadMagic / NetworkMismatch / TruncatedRecord / BadBlock
    │   ├── ReorgBeyondDepth / XorKeyChanged
    ├── UsageError                bad user input: unknown metric, date out of range, language
    └── ConfigError               a bad config file or setting

``where`` names the place: a series id, a URL path *without* its query string, a file and offset
(``blk00042.dat@0x1a2b3c``). Messages never contain credentials. The CLI maps each class to one
line on stderr and an exit code (``EXIT_CODES``).
"""

from __future__ import annotations


class BtcmacroError(Exception):
    """Base class. ``str(e)`` is the one line shown to the user."""

    retryable = False

    def __init__(self, message: str, *, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class SourceError(BtcmacroError):
    pass


class RateLimited(SourceError):
    retryable = True

    def __init__(self, message: str, *, where: str | None = None, retry_after: float | None = None):
        super().__init__(message, where=where)
        self.retry_after = retry_after


class Unavailable(SourceError):
    retryable = True


class AuthError(SourceError):
    pass


class NotFound(SourceError):
    pass


class BadPayload(SourceError):
    pass


class StoreError(BtcmacroError):
    pass


class StoreLocked(StoreError):
    pass


class StoreCorrupt(StoreError):
    pass


class DataError(BtcmacroError):
    pass


class ChainError(BtcmacroError):
    pass


class BadMagic(ChainError):
    pass


class NetworkMismatch(ChainError):
    pass


class TruncatedRecord(ChainError):
    pass


class BadBlock(ChainError):
    pass


class ReorgBeyondDepth(ChainError):
    pass


class XorKeyChanged(ChainError):
    pass


class UsageError(BtcmacroError):
    pass


class ConfigError(BtcmacroError):
    pass


#: exit code per class (most specific first); 0 ok, 1 partial failure, 2+ errors
EXIT_CODES: list[tuple[type[BtcmacroError], int]] = [
    (UsageError, 2),
    (ConfigError, 3),
    (DataError, 4),
    (StoreLocked, 5),
    (StoreError, 6),
    (SourceError, 7),
    (ChainError, 8),
    (BtcmacroError, 9),
]


def exit_code(err: BaseException) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(err, cls):
            return code
    return 1
