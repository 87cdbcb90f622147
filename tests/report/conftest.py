"""Report fixtures: one real briefing (as of 2025-12-09) rendered once per session.

The store comes from the session fixture ``snapshot_store_path`` (tests/conftest.py: the embedded
snapshot loaded into a temporary file, never the user's data dir). Rendering Plotly and matplotlib
is the slow part, so every format and language is written once here and the tests read the files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

AS_OF = "2025-12-09"
NOW = dt.datetime(2025, 12, 9, 23, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def real_briefing(snapshot_store_path):
    from btcmacro import api
    from btcmacro.store import Store

    with Store(snapshot_store_path, read_only=True) as st:
        return api.briefing(AS_OF, store=st, now=NOW)


@pytest.fixture(scope="session")
def rendered(real_briefing, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """``{(fmt, lang): path}`` for every format and language, written with ``report.write``."""
    from btcmacro import report

    out = tmp_path_factory.mktemp("brief")
    paths = {}
    for lang in report.LANGS:
        for fmt in report.FORMATS:
            target = out / report.default_filename(real_briefing, fmt, lang)
            paths[(fmt, lang)] = report.write(real_briefing, fmt=fmt, lang=lang, out=target)
    return paths
