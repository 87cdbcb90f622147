from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the helpers (_chainhelp, _rpcnode) are imported as top-level modules, with or without an
# __init__.py in this folder
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _chainhelp import BLOCKS  # noqa: E402


@pytest.fixture(scope="session")
def blocks_path() -> Path:
    """The real block fixtures (tests/fixtures/data/blocks), part of the repository: never skipped."""
    return BLOCKS


@pytest.fixture(scope="session")
def fixture_blocks(blocks_path) -> list[bytes]:
    """The 256 raw blocks of blk_0_to_255.dat, in height order."""
    from btcmacro.chain.blkfile import scan_file

    res = scan_file(blocks_path / "blk_0_to_255.dat")
    assert len(res.records) == 256 and not res.warnings
    return [r.data for r in res.records]



