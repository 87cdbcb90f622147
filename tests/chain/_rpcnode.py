"""A fake Bitcoin Core JSON-RPC server for tests, answering in Core's documented format.

Blocks are decoded with python-bitcoinlib (independent of btcmacro's parser) and turned into
``getblock`` verbosity-3 JSON the way Core writes it (``blockToJSON`` / ``TxToUniv``): amounts as
JSON numbers with 8 decimals, inputs with ``prevout {generated, height, value, scriptPubKey}``,
each transaction with its ``hex``. Transport behaviour follows Core's ``httprpc.cpp``: HTTP 401
with an empty body for bad credentials; a single call's error object with HTTP 500 (404 for an
unknown method); a batch always HTTP 200 with one reply per call; HTTP 503 "Work queue depth
exceeded" when the queue is full.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

from bitcoin.core import CBlock, b2lx, b2x
from werkzeug.wrappers import Request, Response


def _amt(sat: int) -> str:
    return f"__AMT__{sat // 10**8}.{sat % 10**8:08d}"


def _spk(script: bytes) -> dict:
    if script[:1] == b"\x6a":
        typ = "nulldata"
    elif len(script) == 67 and script[-1] == 0xAC:
        typ = "pubkey"
    elif len(script) == 25 and script[:3] == b"\x76\xa9\x14":
        typ = "pubkeyhash"
    else:
        typ = "nonstandard"
    return {"asm": "", "desc": f"raw({script.hex()})", "hex": script.hex(), "type": typ}


@dataclass
class FakeNode:
    auth: str = "__cookie__:0123456789abcdef0123456789abcdef"
    blocks: dict = field(default_factory=dict)  # hash hex -> (height, raw, CBlock)
    active: list = field(default_factory=list)  # hash hex per height
    coins: dict = field(default_factory=dict)  # (txid hex, n) -> (height, sat, script, coinbase)
    fail_503: int = 0  # answer this many next requests with 503
    requests: int = 0
    calls: list = field(default_factory=list)
    strip_prevout: bool = False  # behave like verbosity 2 (old node)
    tamper: dict = field(default_factory=dict)  # hash hex -> replacement raw bytes for tx hex

    # ---------------------------------------------------------------- chain
    def add_chain(self, raws: list[bytes]) -> None:
        """Make ``raws`` (genesis first) the active chain; earlier blocks stay known (stale)."""
        self.active = []
        for h, raw in enumerate(raws):
            blk = CBlock.deserialize(raw)
            hh = b2lx(blk.GetHash())
            self.blocks.setdefault(hh, (h, raw, blk))
            self.active.append(hh)
        self.coins = {}
        for hh in self.active:
            h, _, blk = self.blocks[hh]
            for tx in blk.vtx:
                for n, o in enumerate(tx.vout):
                    self.coins[(b2lx(tx.GetTxid()), n)] = (h, o.nValue, bytes(o.scriptPubKey), tx.is_coinbase())

    def _header(self, hh: str) -> dict:
        h, raw, blk = self.blocks[hh]
        on = h < len(self.active) and self.active[h] == hh
        d = {"hash": hh, "confirmations": (len(self.active) - h) if on else -1, "height": h,
             "version": blk.nVersion, "versionHex": f"{blk.nVersion & 0xffffffff:08x}",
             "merkleroot": b2lx(blk.hashMerkleRoot), "time": blk.nTime, "mediantime": blk.nTime,
             "nonce": blk.nNonce, "bits": f"{blk.nBits:08x}", "difficulty": 1, "chainwork": "00" * 32,
             "nTx": len(blk.vtx)}
        if h > 0:
            d["previousblockhash"] = b2lx(blk.hashPrevBlock)
        if on and h + 1 < len(self.active):
            d["nextblockhash"] = self.active[h + 1]
        return d

    def _block3(self, hh: str) -> dict:
        d = self._header(hh)
        h, raw, blk = self.blocks[hh]
        d.update(size=len(raw), strippedsize=len(raw), weight=4 * len(raw))
        txs = []
        for i, tx in enumerate(blk.vtx):
            txhex = b2x(tx.serialize())
            if hh in self.tamper and i == 1:
                txhex = self.tamper[hh].hex()
            t = {"txid": b2lx(tx.GetTxid()), "hash": b2lx(tx.GetTxid()), "version": tx.nVersion,
                 "size": len(tx.serialize()), "vsize": len(tx.serialize()), "weight": 4 * len(tx.serialize()),
                 "locktime": tx.nLockTime, "vin": [], "vout": []}
            for txin in tx.vin:
                if tx.is_coinbase():
                    t["vin"].append({"coinbase": bytes(txin.scriptSig).hex(), "sequence": txin.nSequence})
                    continue
                ph, val, script, cb = self.coins[(b2lx(txin.prevout.hash), txin.prevout.n)]
                vin = {"txid": b2lx(txin.prevout.hash), "vout": txin.prevout.n,
                       "scriptSig": {"asm": "", "hex": bytes(txin.scriptSig).hex()}}
                if not self.strip_prevout:
                    vin["prevout"] = {"generated": cb, "height": ph, "value": _amt(val), "scriptPubKey": _spk(script)}
                vin["sequence"] = txin.nSequence
                t["vin"].append(vin)
            for n, o in enumerate(tx.vout):
                t["vout"].append({"value": _amt(o.nValue), "n": n, "scriptPubKey": _spk(bytes(o.scriptPubKey))})
            t["hex"] = txhex
            txs.append(t)
        d["tx"] = txs
        return d

    # ---------------------------------------------------------------- RPC
    def _dispatch(self, method: str, params: list):
        self.calls.append(method)
        if method == "getblockcount":
            return len(self.active) - 1
        if method == "getblockhash":
            h = params[0]
            if not (0 <= h < len(self.active)):
                raise _Err(-8, "Block height out of range")
            return self.active[h]
        if method in ("getblockheader", "getblock"):
            hh = params[0]
            if hh not in self.blocks:
                raise _Err(-5, "Block not found")
            return self._header(hh) if method == "getblockheader" else self._block3(hh)
        raise _Err(-32601, "Method not found")

    def _reply(self, req: dict):
        try:
            return {"result": self._dispatch(req["method"], req.get("params", [])), "error": None, "id": req.get("id")}
        except _Err as e:
            return {"result": None, "error": {"code": e.code, "message": e.msg}, "id": req.get("id")}

    def handler(self, request: Request) -> Response:
        self.requests += 1
        want = "Basic " + base64.b64encode(self.auth.encode()).decode()
        if request.headers.get("Authorization") != want:
            return Response(b"", status=401, headers={"WWW-Authenticate": 'Basic realm="jsonrpc"'})
        if self.fail_503 > 0:
            self.fail_503 -= 1
            return Response(b"Work queue depth exceeded", status=503)
        doc = json.loads(request.get_data())
        if isinstance(doc, list):
            body, status = [self._reply(r) for r in doc], 200
        else:
            body = self._reply(doc)
            status = 200
            if body["error"]:
                status = 404 if body["error"]["code"] == -32601 else 500
        text = re.sub(r'"__AMT__([0-9.]+)"', r"\1", json.dumps(body))
        return Response(text.encode(), status=status, content_type="application/json")


class _Err(Exception):
    def __init__(self, code: int, msg: str):
        self.code, self.msg = code, msg
