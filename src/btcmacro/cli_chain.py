"""``btcmacro chain sync|status|inspect|urpd|hodl|aggregate|export-parts``: thin wrappers over :mod:`btcmacro.chain`.

Errors are one line on stderr and a non-zero exit code (``btcmacro.errors.EXIT_CODES``); the
messages of ``XorKeyChanged``, ``BlocksDirChanged`` and ``ReorgBeyondDepth`` carry the
``--rebuild`` hint themselves.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Optional

import typer

from .errors import BtcmacroError, exit_code

chain_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Own-node on-chain engine: index your Bitcoin Core data, publish daily metrics.")

_IndexOpt = typer.Option(None, "--index", help="chain index file (default: $BTCMACRO_HOME/chain.duckdb)")
_StoreOpt = typer.Option(None, "--store", help="main store file (default: $BTCMACRO_HOME/store.duckdb)")


def _handled(fn):
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except BtcmacroError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(exit_code(e))
        except KeyboardInterrupt:
            typer.echo("error: interrupted (the index keeps every committed batch; rerun to continue)", err=True)
            raise typer.Exit(130)

    return wrapper


def _progress():
    """A Rich progress bar showing blocks done, blocks/s and ETA; returns (progress, callback)."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeRemainingColumn)
    from rich.text import Text

    state: dict = {}

    class Rate(ProgressColumn):
        """Blocks per second since this run started (not since genesis)."""

        def render(self, task) -> Text:
            done = task.completed - state.get("first", task.completed)
            el = task.elapsed or 0.0
            return Text(f"{done / el:,.0f} blocks/s" if el > 0 and done > 0 else "- blocks/s")

    prog = Progress(TextColumn("sync"), BarColumn(), MofNCompleteColumn(), Rate(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=False)

    def cb(height: int, tip: int) -> None:
        if "task" not in state:
            state["first"] = height
            state["task"] = prog.add_task("sync", total=max(1, tip + 1), completed=height)
        prog.update(state["task"], completed=height + 1, total=max(1, tip + 1))

    return prog, cb


def _index(index: Optional[Path]) -> Optional[Path]:
    """``--index`` checked before DuckDB opens it (a regular file or a new one: btcmacro.inputs)."""
    from .inputs import store_file

    return None if index is None else store_file(index, "--index")


def _cores() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@chain_app.command("sync")
@_handled
def sync_cmd(
    datadir: Optional[Path] = typer.Option(None, "--datadir", help="a Bitcoin Core datadir: its blocks/ (blk, rev and xor files) is read in place, never written"),
    blocks_dir: Optional[Path] = typer.Option(None, "--blocks-dir", help="a directory of blk*.dat files (no undo data needed)"),
    undo_files: bool = typer.Option(False, "--undo-files", help="with --blocks-dir: read spent coins from the rev*.dat "
                                                                "undo files (a node's full blocks/ dir) instead of a coin map"),
    rpc: Optional[str] = typer.Option(None, "--rpc", help="JSON-RPC URL of a running node, e.g. http://127.0.0.1:8332"),
    rpc_cookie: Optional[Path] = typer.Option(None, "--rpc-cookie", help="the node's .cookie file"),
    rpc_user: Optional[str] = typer.Option(None, "--rpc-user"),
    rpc_password: Optional[str] = typer.Option(None, "--rpc-password", envvar="BTCMACRO_RPC_PASSWORD",
                                               help="or set BTCMACRO_RPC_PASSWORD"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1,
                             help="with --blocks-dir or --datadir: worker processes, one blk/rev file per task, "
                                  "merged by height in one transaction (1 = serial, commits every 2,000 blocks); at "
                                  "most the number of CPU cores (more is lowered to it, with a warning)"),
    network: str = typer.Option("mainnet", "--network", help="mainnet | testnet3 | testnet4 | signet | regtest"),
    rebuild: bool = typer.Option(False, "--rebuild", help="drop the chain index and start from genesis"),
    publish: bool = typer.Option(True, "--publish/--no-publish", help="write the daily metrics into the main store"),
    exchange_addresses: Optional[Path] = typer.Option(
        None, "--exchange-addresses",
        help="CSV of exchange addresses (columns address|script[,label]; a '# provenance: …' line); "
             "remembered for later syncs"),
    store: Optional[Path] = _StoreOpt,
    index: Optional[Path] = _IndexOpt,
):
    """Index the best chain incrementally (rolls back on reorg), then publish daily chain/* series."""
    from . import chain
    from .errors import UsageError

    if sum(x is not None for x in (datadir, blocks_dir, rpc)) != 1:
        raise UsageError("give exactly one of --datadir, --blocks-dir or --rpc", where="chain sync")
    if undo_files and blocks_dir is None:
        raise UsageError("--undo-files goes with --blocks-dir", where="chain sync")
    if jobs > 1 and blocks_dir is None and datadir is None:
        raise UsageError("--jobs > 1 goes with --blocks-dir or --datadir", where="chain sync")
    cores = _cores()
    if jobs > cores:
        typer.echo(f"warning: --jobs {jobs} is more than the {cores} CPU cores available here; using {cores}",
                   err=True)
        jobs = cores
    from . import api

    index = _index(index)  # what these paths are is checked before anything is indexed or published
    if publish:
        api.store_path(store)
    rpc_opts = None
    if rpc is not None:
        rpc_opts = chain.rpc.RpcConfig.from_options(rpc, cookie=rpc_cookie, user=rpc_user, password=rpc_password,
                                                    network=network)
    lst = chain.addresses.load_address_list(exchange_addresses) if exchange_addresses else None  # fail fast
    if publish:  # the store is written last: what it is is checked first, before the index changes
        api.check_store_target(store)
    prog, cb = _progress()
    with prog:
        r = chain.sync(datadir=datadir, blocks_dir=blocks_dir, rpc=rpc_opts, store_path=index, network=network,
                       rebuild=rebuild, progress=cb, undo_files=undo_files, jobs=jobs)
    for w in r.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"indexed {r.blocks_added} blocks; tip {r.height} {r.tip_hash}" + (
        f" (reorg: rolled back {r.reorg_depth} blocks to height {r.rolled_back_to})"
        if r.rolled_back_to is not None else ""), err=True)
    if publish:
        with api.open_store(store, read_only=False) as st:
            pr, notes = chain.publishing.publish_remembering_list(st, index, lst)
        for n in notes:
            typer.echo(f"warning: {n}", err=True)
        d = pr.as_dict()
        typer.echo(f"published chain/* for {d['first_day']}..{d['last_day']} "
                   f"({d['new']} new, {d['revised']} revised values)"
                   + (f"; reorg invalidated days from {d['fork_day']}" if d["fork_day"] else ""), err=True)


@chain_app.command("status")
@_handled
def status_cmd(fmt: str = typer.Option("table", "--format", help="table | json"), index: Optional[Path] = _IndexOpt):
    """Height, tip hash, transaction count and UTXO totals of the chain index."""
    from . import chain
    from .errors import UsageError

    if fmt not in ("table", "json"):
        raise UsageError(f"unknown format {fmt!r} (expected table or json)", where="--format")
    st = chain.status(_index(index))
    if fmt == "json":
        typer.echo(json.dumps(st))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(show_header=False)
    for k, v in st.items():
        t.add_row(k, "-" if v is None else f"{v:,}" if isinstance(v, int) else str(v))
    Console().print(t)


@chain_app.command("inspect")
@_handled
def inspect_cmd(file: Path = typer.Argument(..., help="a raw block (.bin) or a blk*.dat file"),
                fmt: str = typer.Option("json", "--format", help="json"),
                network: str = typer.Option("mainnet", "--network")):
    """Describe a raw block file: hash, prev_hash, merkle_root, merkle_ok, tx_count, size, weight, time."""
    from . import chain
    from .errors import UsageError

    if fmt != "json":
        raise UsageError(f"unknown format {fmt!r} (expected json)", where="--format")
    _check_block_file(file)
    typer.echo(json.dumps(chain.inspect(file, network=network)))


def _check_block_file(file: Path) -> None:
    """A readable regular file, or one line saying what ``file`` is instead."""
    import os
    import stat

    from .errors import UsageError

    expected = "expected a raw block (.bin) or a blk*.dat file"
    try:
        st = os.stat(file)
    except FileNotFoundError:
        raise UsageError(f"no such file; {expected}", where=str(file)) from None
    except OSError as e:
        raise UsageError(f"cannot be read ({e.strerror}); {expected}", where=str(file)) from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"is a directory; {expected}", where=str(file))
    if not stat.S_ISREG(st.st_mode):
        kind = "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else \
            "a pipe" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) \
            else "not a regular file"
        raise UsageError(f"is {kind}, not a file; {expected}", where=str(file))
    if not os.access(file, os.R_OK):
        raise UsageError(f"cannot be read (permission denied); {expected}", where=str(file))


_DateOpt = typer.Option(None, "--date", help="a day YYYY-MM-DD (default: the last indexed day)")
_FORMATS = ("table", "json", "csv")


def _check_format(fmt: str) -> None:
    from .errors import UsageError

    if fmt not in _FORMATS:
        raise UsageError(f"unknown format {fmt!r} (expected table, json or csv)", where="--format")


def _emit(df, fmt: str, meta: dict, rows_key: str, title: str, cols: list[tuple[str, str]]) -> None:
    """Print one day's frame as JSON (meta + rows), CSV (rows) or a Rich table (meta in the title)."""
    if fmt == "json":
        rows = [{k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict(orient="records")]
        typer.echo(json.dumps({**meta, rows_key: rows}))
    elif fmt == "csv":
        typer.echo(df.to_csv(index=False, lineterminator="\n"), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table()
        for _, head in cols:
            t.add_column(head, justify="right")
        for r in df.to_dict(orient="records"):
            t.add_row(*[_cell(r[c]) for c, _ in cols])
        con = Console()
        con.print(title, highlight=False, soft_wrap=True)
        con.print(t)


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:,.8f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


@chain_app.command("urpd")
@_handled
def urpd_cmd(date: Optional[str] = _DateOpt,
             buckets: int = typer.Option(100, "--buckets", help="equal-width price buckets from 0 to the highest cost "
                                                                "(1 to 1000)"),
             fmt: str = typer.Option("table", "--format", help="table | json | csv"),
             index: Optional[Path] = _IndexOpt, store: Optional[Path] = _StoreOpt):
    """UTXO realized price distribution of one day: supply by the close of the day each coin last moved."""
    from . import api, chain

    _check_format(fmt)
    index = _index(index)
    with api.open_store(store, read_only=True) as st:
        df = chain.publishing.urpd_for_day(st, date, index, buckets=buckets)
    a = df.attrs
    meta = {"date": a["date"], "tip_hash": a["tip_hash"], "height": a["height"], "day_tip_hash": a["day_tip_hash"],
            "day_height": a["day_height"], "supply_btc": a["supply_btc"], "prices": chain.publishing.PRICE_SERIES}
    _emit(df, fmt, meta, "buckets", f"URPD {a['date']} (supply {a['supply_btc']:,.8g} BTC, "
          f"priced with {chain.publishing.PRICE_SERIES})",
          [("price_low", "from USD"), ("price_high", "to USD"), ("btc", "BTC")])


@chain_app.command("hodl")
@_handled
def hodl_cmd(date: Optional[str] = _DateOpt, fmt: str = typer.Option("table", "--format", help="table | json | csv"),
             index: Optional[Path] = _IndexOpt):
    """HODL waves of one day: supply by time since coins last moved (standard age bands)."""
    from . import chain

    _check_format(fmt)
    df = chain.publishing.hodl_for_day(date, _index(index))
    a = df.attrs
    meta = {"date": a["date"], "tip_hash": a["tip_hash"], "height": a["height"], "day_tip_hash": a["day_tip_hash"],
            "day_height": a["day_height"], "supply_btc": a["supply_btc"]}
    _emit(df, fmt, meta, "bands", f"HODL waves {a['date']} (supply {a['supply_btc']:,.8g} BTC)",
          [("band", "last moved"), ("btc", "BTC"), ("pct", "% of supply")])


@chain_app.command("aggregate")
@_handled
def aggregate_cmd(
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (the chain index) | spark (parquet parts) | "
                                                          "bigquery (Google's public crypto_bitcoin dataset)"),
    master: str = typer.Option("local[*]", "--master", help="with --engine spark: the Spark master URL "
                                                            "(local[4], spark://host:7077, yarn, k8s://...)"),
    parts: Optional[str] = typer.Option(None, "--parts", help="with --engine spark: folder or URL of the parquet "
                                                              "parts (hdfs://, s3a://, gs://...; see export-parts)"),
    project: Optional[str] = typer.Option(None, "--project", help="with --engine bigquery: the Google Cloud project "
                                                                  "the queries run and are billed in"),
    dataset: str = typer.Option("bigquery-public-data.crypto_bitcoin", "--dataset",
                                help="with --engine bigquery: the dataset (project.dataset)"),
    through_block: Optional[int] = typer.Option(None, "--through-block", min=0,
                                                help="with --engine bigquery: stop at this height (default: the "
                                                     "dataset's newest block minus 6)"),
    yes: bool = typer.Option(False, "--yes", help="with --engine bigquery: run the queries after showing the "
                                                  "estimate (without it nothing is billed)"),
    publish: bool = typer.Option(True, "--publish/--no-publish", help="write the daily chain/* series into the "
                                                                      "main store"),
    store: Optional[Path] = _StoreOpt,
    index: Optional[Path] = _IndexOpt,
):
    """Aggregate coins into daily chain/* series on DuckDB, a Spark cluster or BigQuery, then publish them."""
    import time

    from . import api
    from .chain import engines, publishing
    from .errors import UsageError

    if engine not in engines.ENGINES:
        raise UsageError(f"unknown engine {engine!r} (expected duckdb, spark or bigquery)", where="--engine")
    if engine != "spark" and parts is not None:
        raise UsageError("--parts goes with --engine spark", where="chain aggregate")
    if engine != "bigquery" and (project is not None or yes or through_block is not None):
        raise UsageError("--project, --through-block and --yes go with --engine bigquery", where="chain aggregate")
    if publish:
        api.store_path(store)  # checked before anything runs
    t0 = time.perf_counter()
    if engine == "duckdb":
        index = _index(index)
        if publish:  # the path `chain sync` publishes by (the remembered address list included)
            with publishing._synced_index(index):  # no index: say so before the store is opened
                pass
            with api.open_store(store, read_only=False) as st:
                pr, notes = publishing.publish_remembering_list(st, index)
            for n in notes:
                typer.echo(f"warning: {n}", err=True)
            _published(pr, f"own node, tip {pr.tip_hash} height {pr.height}")
            return
        with publishing._synced_index(index) as (_, ix, _cp):
            agg = engines.aggregate_duckdb(ix)
    elif engine == "spark":
        from .chain.engines.spark import aggregate_spark

        if parts is None:
            raise UsageError("give --parts, the folder or URL of the parquet parts (`btcmacro chain export-parts "
                             "--out DIR` writes them from an index)", where="chain aggregate")
        agg = aggregate_spark(parts, master=master)
    else:
        from .chain.engines import bigquery as bq

        if project is None:
            raise UsageError("give --project, the Google Cloud project to run the queries in", where="chain aggregate")
        bq.check_dataset(dataset)
        client = bq.BigQueryClient(project)
        plan = bq.plan(client, dataset, through_block, resolve_tip=yes)  # dry runs only, unless --yes
        upto = (f"through block {plan.tip}" if plan.tip is not None
                else f"through the dataset's newest block minus {bq.TIP_LAG}")
        typer.echo(f"BigQuery estimate: {bq.human_bytes(plan.total_bytes)} to scan in project {project} "
                   f"({len(plan.bytes)} queries over {dataset}, {upto})", err=True)
        if not yes:
            typer.echo("nothing was run or billed; add --yes to run these queries", err=True)
            return
        agg = bq.run_plan(client, plan)
    typer.echo(f"aggregated on {agg.engine if agg.engine != 'duckdb' else 'DuckDB'} in "
               f"{time.perf_counter() - t0:.1f} s: {agg.matrix.ndays} days, {agg.matrix.c.size:,} matrix cells; "
               f"source: {agg.provenance}", err=True)
    if publish:
        with api.open_store(store, read_only=False) as st:
            pr = publishing.publish(st, aggregates=agg)
        _published(pr)


def _published(pr, source: str | None = None) -> None:
    d = pr.as_dict()
    typer.echo(f"published chain/* for {d['first_day']}..{d['last_day']} "
               f"({d['new']} new, {d['revised']} revised values)"
               + (f"; reorg invalidated days from {d['fork_day']}" if d["fork_day"] else "")
               + (f"; source: {source}" if source else ""), err=True)


@chain_app.command("export-parts")
@_handled
def export_parts_cmd(out: Path = typer.Option(..., "--out", help="a new (or empty) folder for the parquet parts"),
                     index: Optional[Path] = _IndexOpt):
    """Write the chain index's tables as the parquet parts `chain aggregate --engine spark` reads."""
    from .chain import publishing
    from .chain.engines.parts import export_parts

    with publishing._synced_index(_index(index)) as (_, ix, _cp):
        counts = export_parts(ix, out)
    typer.echo(f"wrote {out}: " + ", ".join(f"{t} {n:,} rows" for t, n in counts.items()), err=True)


def register(app: typer.Typer) -> None:
    """Add the ``chain`` sub-app to the main CLI."""
    app.add_typer(chain_app, name="chain")
