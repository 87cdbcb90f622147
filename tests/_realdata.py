"""Where the suite's real data lives: ``tests/fixtures/data``, inside the repository.

The folder mirrors the layout of btcmacro's real-data collection (``fred/``, ``btc/``,
``onchain/``, ``markets/``, ``blocks/``); its README gives the provenance of every file and
``SHA256SUMS`` their checksums. Tests never look outside the repository for data.
"""

from __future__ import annotations

from pathlib import Path

#: the raw CSV files and block fixtures the tests read as independent references
DATA = Path(__file__).resolve().parent / "fixtures" / "data"
