"""``btcmacro serve``: wiring (bind address, warning, no reload) and a real process on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from btcmacro import cli_serve
from btcmacro.cli import app


@pytest.fixture()
def captured(monkeypatch):
    calls = []
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda web, **kw: calls.append((web, kw)))
    return calls


def test_default_bind_is_loopback_without_reload(captured, web_store_path, monkeypatch):
    checked = []  # the default port may be taken on a developer's machine: record, don't bind
    monkeypatch.setattr(cli_serve, "check_bindable", lambda host, port: checked.append((host, port)))
    r = CliRunner().invoke(app, ["serve", "--store", str(web_store_path)])
    assert r.exit_code == 0, r.output
    assert checked == [("127.0.0.1", 8765)]
    (web, kw), = captured
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8765
    assert kw["reload"] is False and kw["workers"] == 1
    assert "warning" not in r.output
    assert "http://127.0.0.1:8765/" in r.output


def test_non_local_bind_warns_and_keeps_the_host_check(captured, web_store_path):
    from _webhelp import free_port

    port = free_port()
    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", str(port), "--store", str(web_store_path)])
    assert r.exit_code == 0, r.output
    assert "warning: binding to 0.0.0.0" in r.output
    (web, kw), = captured
    assert kw["host"] == "0.0.0.0" and kw["reload"] is False
    from fastapi.testclient import TestClient

    c = TestClient(web, base_url=f"http://127.0.0.1:{port}")
    assert c.get("/api/status").status_code == 200
    assert c.get("/api/status", headers={"host": f"192.168.1.20:{port}"}).status_code == 400


@pytest.mark.parametrize("host,allow", [("0.0.0.0", []), ("0.0.0.0", ["box.lan"]), ("::", [])])
def test_wildcard_bind_prints_urls_its_host_check_accepts(captured, web_store_path, host, allow):
    """``--host 0.0.0.0`` used to print http://0.0.0.0:PORT/, which the Host check refuses."""
    import re

    from fastapi.testclient import TestClient
    from _webhelp import free_port

    if host == "::":
        import socket

        if not socket.has_ipv6:
            pytest.skip("no IPv6 on this machine")
    port = free_port()
    extra = [a for h in allow for a in ("--allow-host", h)]
    r = CliRunner().invoke(app, ["serve", "--host", host, "--port", str(port), *extra,
                                 "--store", str(web_store_path)])
    assert r.exit_code == 0, r.output
    (web, _), = captured
    banner = [ln for ln in r.output.splitlines() if ln.startswith("btcmacro dashboard: ")]
    urls = re.findall(r"http://[^\s,)]+/", banner[0])
    assert len(urls) == 1 + len(allow)
    assert "0.0.0.0" not in banner[0] and "[::]" not in banner[0]
    c = TestClient(web, base_url=f"http://127.0.0.1:{port}")
    for u in urls:
        netloc = u[len("http://"):-1]
        assert c.get("/api/status", headers={"host": netloc}).status_code == 200, u


def test_port_in_use_is_one_line_and_no_banner(captured, web_store_path):
    """With the port taken, the start-up line used to be printed before uvicorn's error."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(app, ["serve", "--port", str(port), "--store", str(web_store_path)])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [
        f"error: --host 127.0.0.1 --port {port}: the port is already in use (another dashboard "
        "or program listens there); choose another with --port"]
    assert captured == []


def test_unknown_or_foreign_bind_address_is_one_line(captured, web_store_path):
    r = CliRunner().invoke(app, ["serve", "--host", "no-such-host.invalid", "--store", str(web_store_path)])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert "host name is not known" in r.output and captured == []
    r = CliRunner().invoke(app, ["serve", "--host", "192.0.2.1", "--store", str(web_store_path)])
    assert r.exit_code == 2 and "does not belong to this machine" in r.output and captured == []


def test_index_option_reaches_the_chain_endpoints(captured, web_store_path, tmp_path):
    """``--index PATH`` is the chain index the app reads: the status page names it, and as it is
    missing the chain endpoints answer 404 ``no_chain_index``."""
    from _webhelp import free_port

    missing = tmp_path / "elsewhere" / "chain.duckdb"
    port = free_port()
    r = CliRunner().invoke(app, ["serve", "--store", str(web_store_path), "--index", str(missing),
                                 "--port", str(port)])
    assert r.exit_code == 0, r.output
    (web, _), = captured
    from fastapi.testclient import TestClient

    c = TestClient(web, base_url=f"http://127.0.0.1:{port}")
    res = c.get("/api/chain/hodl")
    assert res.status_code == 404 and res.json()["error"] == "no_chain_index"
    assert str(missing) in c.get("/status").text


def test_host_allowlist_rules():
    assert cli_serve.host_allowlist("127.0.0.1", []) == []
    assert cli_serve.host_allowlist("0.0.0.0", []) == []
    assert cli_serve.host_allowlist("192.168.1.20", ["Box.lan"]) == ["box.lan", "192.168.1.20"]
    assert cli_serve.host_allowlist("fd00::1", []) == ["[fd00::1]"]
    assert cli_serve.is_loopback("127.0.0.5") and cli_serve.is_loopback("::1")
    assert not cli_serve.is_loopback("0.0.0.0") and not cli_serve.is_loopback("example.com")


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp and tcp6)."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(name):
            continue
        for line in open(name).read().splitlines()[1:]:
            parts = line.split()
            addr, st = parts[1], parts[3]
            host, p = addr.rsplit(":", 1)
            if int(p, 16) == port and st == "0A":  # LISTEN
                out.append(host)
    return out


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
def test_real_server_listens_on_loopback_only(web_store_path, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-m", "btcmacro.cli", "serve", "--port", str(port),
                             "--store", str(web_store_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["update_running"] is False
        assert _listening(port) == ["0100007F"]  # 127.0.0.1, nothing else
        assert httpx.get(f"http://127.0.0.1:{port}/", headers={"host": f"attacker.example:{port}"}).status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)
