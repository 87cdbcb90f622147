"""``btcmacro serve``: the local dashboard, bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Optional

import typer

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowlist(host: str, extra: list[str]) -> list[str]:
    """Host names accepted in the ``Host`` header besides localhost/127.0.0.1/[::1].

    A specific non-loopback bind address is accepted (the user typed it); a wildcard bind
    (``0.0.0.0``, ``::``) adds nothing, so other names need ``--allow-host``.
    """
    out = [h.lower() for h in extra]
    if not is_loopback(host) and host not in ("0.0.0.0", "::"):
        out.append(f"[{host}]" if ":" in host else host.lower())
    return out


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the btcmacro CLI."""
    from .cli import StoreOpt, handled

    @app.command()
    @handled
    def serve(
        host: str = typer.Option("127.0.0.1", "--host",
                                 help="bind address (default 127.0.0.1; anything else is reachable from other machines)"),
        port: int = typer.Option(8765, "--port", min=1, max=65535, help="TCP port"),
        store: Optional[Path] = StoreOpt,
        allow_host: list[str] = typer.Option([], "--allow-host",
                                             help="extra Host header name to accept (with a non-local --host)"),
        index: Optional[Path] = typer.Option(None, "--index",
                                             help="own-node chain index for /api/chain/* and the status page "
                                                  "(default: $BTCMACRO_HOME/chain.duckdb)"),
    ):
        """Serve the local dashboard (briefing, metric explorer, status, JSON API); read-only."""
        import uvicorn

        from . import api
        from .errors import StoreLocked
        from .web import create_app

        if not is_loopback(host):
            typer.echo(
                f"warning: binding to {host}: the dashboard has no authentication and will be "
                "reachable from other machines on this network. Requests must still name an "
                "allowed host (localhost, 127.0.0.1, the bind address or --allow-host).",
                err=True)
        path = api.store_path(store)
        try:  # create the store from the embedded snapshot once; the app itself never writes
            api.open_store(path).close()
        except StoreLocked:
            if not path.exists():
                raise
            typer.echo("note: an update is running; the dashboard will show it as in progress", err=True)
        web = create_app(path, index_path=index, port=port, allowed_hosts=host_allowlist(host, allow_host))
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"btcmacro dashboard: http://{shown}:{port}/  (store {path}; Ctrl-C to stop)", err=True)
        uvicorn.run(web, host=host, port=port, reload=False, workers=1, log_level="warning",
                    server_header=False, proxy_headers=False, access_log=False)
