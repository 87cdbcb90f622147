"""JSON-RPC input: a running Bitcoin Core node (for users who cannot stop it).

Methods used (all read-only): ``getblockhash``, ``getblockcount``, ``getblockheader`` and
``getblock <hash> 3``, whose inputs carry their ``prevout`` (creation height and value), so no
coin map is needed, as with undo files. Requests are JSON-RPC 1.0 (every Core version answers
them) and are batched (one HTTP request carries many calls).

Auth: the node's cookie file (``<datadir>/.cookie``, ``__cookie__:<hex>``, rewritten at every
node start) or ``rpcuser``/``rpcpassword``. Credentials are registered for redaction
(:func:`btcmacro.http.register_secret`) and never appear in a message.

Faults, mapped onto the shared error tree and retry policy (:class:`btcmacro.http.Policy`):

* HTTP 401/403 → :class:`~btcmacro.errors.AuthError` at once (never retried);
* HTTP 503 "Work queue depth exceeded" (``-rpcworkqueue`` full), RPC error -28 (node warming
  up), timeouts and refused connections → retried with backoff, then
  :class:`~btcmacro.errors.Unavailable`;
* an RPC error object (HTTP 500 for a single call, inside the 200 array for a batch) →
  :class:`RpcError` carrying Core's ``code`` (-5: block not found) and message;
* a body that is not the documented JSON → :class:`~btcmacro.errors.BadPayload`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import httpx

from btcmacro.errors import AuthError, BadPayload, SourceError, Unavailable
from btcmacro.http import Clock, Http, Policy, Response, register_secret

__all__ = ["RpcConfig", "RpcClient", "RpcError", "BLOCK_NOT_FOUND", "default_cookie_path", "btc_to_sat"]

BLOCK_NOT_FOUND = -5  # RPC_INVALID_ADDRESS_OR_KEY
IN_WARMUP = -28  # RPC_IN_WARMUP
#: Core's datadir sub-directory per network
_NET_DIR = {"mainnet": "", "testnet3": "testnet3", "testnet4": "testnet4", "signet": "signet", "regtest": "regtest"}
DEFAULT_POLICY = Policy(per_minute=0, spacing_s=0.0, max_retries=5, backoff_base=0.5, backoff_cap=15.0,
                        timeout_s=300.0)


class RpcError(SourceError):
    """The node answered with a JSON-RPC error object (``code`` as in Core's ``protocol.h``)."""

    def __init__(self, message: str, *, code: int, where: str | None = None):
        super().__init__(message, where=where)
        self.code = code


class _Retryable(Unavailable):
    kind = "connect"


class _Timeout(Unavailable):
    kind = "timeout"


def btc_to_sat(v: Any) -> int:
    """A JSON amount in BTC (parsed as Decimal) → exact satoshis."""
    d = Decimal(v) * 100_000_000 if not isinstance(v, Decimal) else v * 100_000_000
    if d != d.to_integral_value():
        raise BadPayload(f"amount {v} has more than 8 decimals")
    return int(d)


def default_cookie_path(network: str = "mainnet", datadir: str | os.PathLike | None = None) -> Path:
    """``<datadir>[/<network dir>]/.cookie`` (datadir default ``~/.bitcoin``)."""
    base = Path(datadir) if datadir is not None else Path.home() / ".bitcoin"
    sub = _NET_DIR.get(network, "")
    return (base / sub / ".cookie") if sub else (base / ".cookie")


@dataclass
class RpcConfig:
    """Where the node is and how to authenticate; ``password`` is never shown in ``repr``."""

    url: str
    user: str
    password: str = field(repr=False)
    network: str = "mainnet"
    policy: Policy = DEFAULT_POLICY
    batch_blocks: int = 16  # getblock calls per HTTP request
    batch_hashes: int = 2000  # getblockhash calls per HTTP request
    clock: Clock | None = None

    @classmethod
    def from_options(cls, url: str, *, cookie: str | os.PathLike | None = None, user: str | None = None,
                     password: str | None = None, network: str = "mainnet", **kw) -> "RpcConfig":
        """Build from CLI-style options: a cookie file, or user + password, or the default cookie.
        ``url`` is checked first (:func:`check_url`)."""
        url = check_url(url)
        if user is not None or password is not None:
            if not (user and password):
                raise AuthError("give both --rpc-user and --rpc-password (or --rpc-cookie)", where="rpc")
        else:
            path = Path(cookie) if cookie is not None else default_cookie_path(network)
            try:
                text = path.read_text().strip()
            except OSError as e:
                raise AuthError(f"cannot read the RPC cookie file ({e.strerror}); pass --rpc-cookie "
                                "<datadir>/.cookie or --rpc-user/--rpc-password", where=str(path)) from None
            user, sep, password = text.partition(":")
            if not sep or not password:
                raise AuthError("the cookie file is not '<user>:<password>'", where=str(path))
        register_secret(password)
        return cls(url.rstrip("/"), user, password, network, **kw)


def check_url(url: str) -> str:
    """``http(s)://HOST[:PORT][/wallet/NAME]`` or one :class:`UsageError` saying what is wrong;
    the URL itself is echoed only when it holds no credentials."""
    from urllib.parse import urlsplit

    from btcmacro.errors import UsageError

    example = "expected http://HOST:PORT, e.g. http://127.0.0.1:8332"
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"the port is not a number from 1 to 65535; {example}", where="--rpc") from None
    if parts.username is not None or parts.password is not None:
        raise UsageError("put credentials in --rpc-cookie or --rpc-user/--rpc-password, not in the URL",
                         where="--rpc")
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise UsageError(f"{text!r} is not a node URL; {example}", where="--rpc")
    if port == 0:
        raise UsageError(f"the port is not a number from 1 to 65535; {example}", where="--rpc")
    if parts.query or parts.fragment:
        raise UsageError(f"{text!r}: a node URL has no query or fragment; {example}", where="--rpc")
    return text


class RpcClient:
    """Batched JSON-RPC 1.0 calls under a retry policy."""

    def __init__(self, cfg: RpcConfig, *, transport: httpx.BaseTransport | None = None):
        self.cfg = cfg
        self.where = httpx.URL(cfg.url).host + ":" + str(httpx.URL(cfg.url).port or "")
        self._http = Http(clock=cfg.clock)
        self._client = httpx.Client(transport=transport, auth=(cfg.user, cfg.password),
                                    headers={"Content-Type": "application/json"})
        self._id = 0
        self.requests = 0  # HTTP requests sent (retries included)

    def close(self) -> None:
        self._client.close()
        self._http.close()

    def __enter__(self) -> "RpcClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- transport
    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        host = httpx.URL(self.cfg.url).netloc.decode()

        def once() -> Response:
            self.requests += 1
            try:
                r = self._client.post(self.cfg.url, content=body, timeout=self.cfg.policy.timeout_s)
            except httpx.TimeoutException:
                raise _Timeout(f"RPC timed out after {self.cfg.policy.timeout_s:g}s", where=self.where) from None
            except httpx.TransportError as e:
                raise _Retryable(f"cannot connect to the node ({type(e).__name__}); is bitcoind running "
                                 "with -server and this rpcport?", where=self.where) from None
            st = r.status_code
            if st in (401, 403):
                raise AuthError(f"HTTP {st}: the node refused the RPC credentials; check --rpc-cookie "
                                "(the cookie changes at every node restart) or --rpc-user/--rpc-password",
                                where=self.where)
            if st == 503:
                err = Unavailable(f"HTTP 503 from the node ({r.text[:60].strip() or 'unavailable'})",
                                  where=self.where)
                err.status = 503
                raise err
            doc = None
            if r.content:
                try:
                    doc = json.loads(r.content, parse_float=Decimal)
                except ValueError:
                    doc = None
            if doc is None:
                if st >= 500:
                    err = Unavailable(f"HTTP {st} from the node", where=self.where)
                    err.status = st
                    raise err
                raise BadPayload(f"HTTP {st}: the node's answer is not JSON", where=self.where)
            # a single-call error (HTTP 500/404/400 + JSON error object): warm-up is retryable
            if isinstance(doc, dict) and doc.get("error"):
                e = doc["error"]
                if isinstance(e, dict) and e.get("code") == IN_WARMUP:
                    err = Unavailable(f"node warming up: {e.get('message')}", where=self.where)
                    err.status = 503
                    raise err
            return Response(st, dict(r.headers), doc, self.where)

        return self._http.call(once, host=host, policy=self.cfg.policy, where=self.where).body

    def _next_id(self) -> int:
        self._id += 1
        return self._id

    @staticmethod
    def _result(doc: Any, method: str, params: list, where: str) -> Any:
        if not isinstance(doc, dict) or "result" not in doc and "error" not in doc:
            raise BadPayload(f"{method}: answer lacks result/error", where=where)
        err = doc.get("error")
        if err:
            code = err.get("code") if isinstance(err, dict) else None
            msg = err.get("message") if isinstance(err, dict) else str(err)
            arg = f"({', '.join(map(str, params))})" if params else ""
            raise RpcError(f"{method}{arg}: RPC error {code}: {msg}", code=code if code is not None else 0,
                           where=where)
        return doc["result"]

    # ----------------------------------------------------------------- calls
    def call(self, method: str, *params: Any) -> Any:
        """One call; returns its ``result`` or raises :class:`RpcError`."""
        i = self._next_id()
        doc = self._post({"jsonrpc": "1.0", "id": i, "method": method, "params": list(params)})
        return self._result(doc, method, list(params), self.where)

    def batch(self, calls: Iterable[tuple[str, list]]) -> list:
        """Many calls in one HTTP request; results in call order (the node may reorder them)."""
        calls = list(calls)
        if not calls:
            return []
        ids = [self._next_id() for _ in calls]
        doc = self._post([{"jsonrpc": "1.0", "id": i, "method": m, "params": p} for i, (m, p) in zip(ids, calls)])
        if not isinstance(doc, list):
            if isinstance(doc, dict) and doc.get("error"):
                return [self._result(doc, calls[0][0], calls[0][1], self.where)]
            raise BadPayload("batch answer is not a JSON array", where=self.where)
        by_id = {d.get("id"): d for d in doc if isinstance(d, dict)}
        out = []
        for i, (m, p) in zip(ids, calls):
            if i not in by_id:
                raise BadPayload(f"batch answer lacks the reply to {m} (id {i})", where=self.where)
            out.append(self._result(by_id[i], m, p, self.where))
        return out

    # ----------------------------------------------------------------- helpers
    def block_hashes(self, lo: int, hi: int) -> list[str]:
        """``getblockhash`` for heights ``lo..hi`` (inclusive), batched."""
        out: list[str] = []
        step = self.cfg.batch_hashes
        for a in range(lo, hi + 1, step):
            b = min(hi, a + step - 1)
            out += self.batch(("getblockhash", [h]) for h in range(a, b + 1))
        return out

    def blocks(self, hashes: list[str]) -> list[dict]:
        """``getblock <hash> 3`` for each hash (one batch)."""
        return self.batch(("getblock", [h, 3]) for h in hashes)


def _cs(n: int) -> bytes:
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def block_from_json(doc: dict, *, where: str = "rpc") -> tuple[bytes, list[int], list[int], list[bytes]]:
    """Rebuild the raw block from ``getblock`` verbosity-3 JSON, plus its spent coins.

    The header comes from ``version``, ``previousblockhash``, ``merkleroot``, ``time``, ``bits``
    and ``nonce``; the transactions from each ``tx[i].hex``. The caller parses the bytes with
    :func:`btcmacro.chain.parse.parse_block` and checks the merkle root and the header hash, so a
    node answer that is inconsistent with itself is caught. Spent coins come from each
    non-coinbase input's ``prevout`` (``height``, ``value`` in BTC, ``scriptPubKey.hex``).

    Returns
    -------
    (raw block, creation heights of spent coins, their values in satoshis, their scriptPubKeys)
    """
    try:
        import struct

        prev = bytes.fromhex(doc.get("previousblockhash", "00" * 32))[::-1]
        mroot = bytes.fromhex(doc["merkleroot"])[::-1]
        head = struct.pack("<i32s32sIII", int(doc["version"]), prev, mroot, int(doc["time"]),
                           int(doc["bits"], 16), int(doc["nonce"]))
        txs = doc["tx"]
        parts = [head, _cs(len(txs))]
        heights: list[int] = []
        values: list[int] = []
        scripts: list[bytes] = []
        for t in txs:
            parts.append(bytes.fromhex(t["hex"]))
            for vin in t["vin"]:
                if "coinbase" in vin:
                    continue
                po = vin.get("prevout")
                if po is None:
                    raise BadPayload("input without prevout: the node must answer getblock with "
                                     "verbosity 3 (Bitcoin Core 23 or later, block not pruned)", where=where)
                heights.append(int(po["height"]))
                values.append(btc_to_sat(po["value"]))
                scripts.append(bytes.fromhex(po["scriptPubKey"]["hex"]))
        return b"".join(parts), heights, values, scripts
    except (KeyError, TypeError, ValueError) as e:
        raise BadPayload(f"getblock answer does not match Core's documented format ({type(e).__name__}: {e})",
                         where=where) from None
