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


def banner_urls(host: str, port: int, extra: list[str]) -> list[str]:
    """The URLs the dashboard really answers on, for the start-up line.

    A wildcard bind (``0.0.0.0``, ``::``) is not an address a browser can use and its Host check
    refuses it, so the local URL is shown instead, followed by each ``--allow-host`` name.
    """
    if host in ("0.0.0.0", "::"):
        first = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
    else:
        first = f"[{host}]" if ":" in host else host
    urls = [f"http://{first}:{port}/"]
    urls += [f"http://{h}:{port}/" for h in dict.fromkeys(x.lower() for x in extra)
             if f"http://{h}:{port}/" not in urls]
    return urls


def check_bindable(host: str, port: int) -> None:
    """Bind (and release) ``host:port`` as uvicorn will, so that a port in use or an address
    that is not this machine's is one clear line before anything is printed or loaded."""
    import errno
    import socket

    from .errors import UsageError

    where = f"--host {host} --port {port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # the socket uvicorn will open
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind((host, port))
        except socket.gaierror:
            raise UsageError("cannot listen there: the host name is not known on this machine",
                             where=where) from None
        except OSError as e:
            why = {errno.EADDRINUSE: "the port is already in use (another dashboard or program "
                                     "listens there); choose another with --port",
                   errno.EADDRNOTAVAIL: "this address does not belong to this machine",
                   errno.EACCES: "permission denied (ports below 1024 need administrator rights)",
                   }.get(e.errno, f"cannot listen there ({e.strerror})")
            raise UsageError(why, where=where) from None


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

        check_bindable(host, port)
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
        first, *more = banner_urls(host, port, allow_host)
        also = f" (also {', '.join(more)})" if more else ""
        typer.echo(f"btcmacro dashboard: {first}{also}  (store {path}; Ctrl-C to stop)", err=True)
        uvicorn.run(web, host=host, port=port, reload=False, workers=1, log_level="warning",
                    server_header=False, proxy_headers=False, access_log=False)
