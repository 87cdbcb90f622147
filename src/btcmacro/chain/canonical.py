"""Which block hashes form the best chain: from the header ``prev_hash`` walk, never file order.

Given every header found in the files (stale blocks, orphans and duplicates included), build the
tree rooted at the genesis hash, give each node its cumulative proof of work (from ``bits``), take
the node with the most work as the tip (ties: the one seen first), and walk ``prev_hash`` back to
genesis. A block whose ancestry never reaches genesis (its parent is not in the files) is an
orphan and is not part of the chain.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from btcmacro.chain.parse import hash_hex

__all__ = ["GENESIS", "GENESIS_HASH", "HeaderRef", "work_from_bits", "best_chain"]

#: mainnet genesis block hash, internal byte order
GENESIS_HASH = bytes.fromhex("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")[::-1]

#: genesis hash per network (internal byte order); mainnet and regtest are checked in the tests
GENESIS = {
    "mainnet": GENESIS_HASH,
    "regtest": bytes.fromhex("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")[::-1],
    "testnet3": bytes.fromhex("000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943")[::-1],
    "testnet4": bytes.fromhex("00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043")[::-1],
    "signet": bytes.fromhex("00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6")[::-1],
}


@dataclass(frozen=True, slots=True)
class HeaderRef:
    """A header plus where its block is stored."""

    hash: bytes
    prev_hash: bytes
    bits: int
    time: int
    file: str = ""
    offset: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}@{self.offset:#x}"


def work_from_bits(bits: int) -> int:
    """Expected number of hashes for a header with this compact target (as Core's GetBlockProof)."""
    exp = bits >> 24
    mant = bits & 0x007FFFFF
    if bits & 0x00800000 or mant == 0:
        return 0
    target = mant << (8 * (exp - 3)) if exp >= 3 else mant >> (8 * (3 - exp))
    if target <= 0:
        return 0
    return (1 << 256) // (target + 1)


def best_chain(headers: list[HeaderRef], genesis: bytes = GENESIS_HASH) -> list[HeaderRef]:
    """The best chain from genesis to the most-work tip, in height order (index = height).

    Parameters
    ----------
    headers
        Every header found, in any order; duplicates are ignored (the first copy wins).
    genesis
        Hash of the root block (mainnet genesis by default).

    Returns
    -------
    list[HeaderRef]
        ``result[h]`` is the block at height ``h``; empty if genesis is absent.
    """
    by_hash: dict[bytes, HeaderRef] = {}
    order: dict[bytes, int] = {}
    children: dict[bytes, list[bytes]] = defaultdict(list)
    for i, h in enumerate(headers):
        if h.hash in by_hash:
            continue
        by_hash[h.hash] = h
        order[h.hash] = i
        children[h.prev_hash].append(h.hash)
    if genesis not in by_hash:
        return []
    # iterative DFS from genesis accumulating chain work; no recursion (the chain is deep)
    work = {genesis: work_from_bits(by_hash[genesis].bits)}
    best = genesis
    stack = [genesis]
    while stack:
        node = stack.pop()
        w = work[node]
        for ch in children.get(node, ()):
            if ch in work:  # a cycle cannot happen with real hashes; guard anyway
                continue
            work[ch] = w + work_from_bits(by_hash[ch].bits)
            stack.append(ch)
            if work[ch] > work[best] or (work[ch] == work[best] and order[ch] < order[best]):
                best = ch
    chain = []
    cur = best
    while True:
        chain.append(by_hash[cur])
        if cur == genesis:
            break
        cur = by_hash[cur].prev_hash
    chain.reverse()
    return chain


def describe(chain: list[HeaderRef]) -> str:  # pragma: no cover - debugging aid
    return f"{len(chain) - 1} @ {hash_hex(chain[-1].hash)}" if chain else "empty"
