"""T25, the remaining half: a configured key never shows up in `brief`, `sources` or `serve`.

The update path (fetch, failed request, logs, store) is covered in tests/test_update.py; here a
recognisable fake key is configured both in the environment and in secrets.toml, and every
output of the reading commands is searched for it.
"""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from btcmacro.cli import app

KEY = "btcmacrofakekey0000000000000leak"


def test_key_never_in_brief_sources_or_dashboard(snapshot_store_path, tmp_path, monkeypatch):
    store = tmp_path / "store.duckdb"
    shutil.copy(snapshot_store_path, store)
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "secrets.toml").write_text(f'fred_api_key = "{KEY}"\ncoinmetrics_api_key = "{KEY}"\n')
    (cfg / "secrets.toml").chmod(0o600)
    monkeypatch.setenv("BTCMACRO_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("FRED_API_KEY", KEY)
    runner = CliRunner()
    outputs = []
    for fmt in ("json", "md", "html"):
        out = tmp_path / f"b.{fmt}"
        res = runner.invoke(app, ["brief", "--as-of", "2025-12-09", "--format", fmt, "--out", str(out),
                                  "--store", str(store)])
        assert res.exit_code == 0, res.output
        outputs += [res.stdout, res.stderr, out.read_text(encoding="utf-8")]
    monkeypatch.setenv("COLUMNS", "400")  # a wide table, so names are not wrapped
    res = runner.invoke(app, ["sources", "--store", str(store)])
    outputs += [res.stdout, res.stderr]
    assert "FRED_API_KEY" in res.stdout  # the credential is listed by name (and as set) ...

    from btcmacro.web import create_app

    with TestClient(create_app(store, port=8765), base_url="http://127.0.0.1:8765",
                    raise_server_exceptions=False) as c:
        for path in ("/?as_of=2025-12-09", "/status", "/api/status", "/api/briefing?as_of=2025-12-09",
                     "/api/metrics", "/explore?metric=net_liquidity"):
            r = c.get(path)
            assert r.status_code == 200, path
            outputs.append(r.text)
    for text in outputs:
        assert KEY not in text  # ... but its value never appears
    assert KEY.encode() not in store.read_bytes()
