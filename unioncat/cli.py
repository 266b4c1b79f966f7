"""The ``unioncat`` command line: thin, one library call per command.

Any :class:`~unioncat.errors.UnioncatError` becomes one line on stderr and a
non-zero exit (2 for configuration errors), never a traceback.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, Iterator

import click

from unioncat import __version__
from unioncat.config import Config, SourceConfig, load_config
from unioncat.errors import ConfigError, UnioncatError
from unioncat.harvester import FileHarvester
from unioncat.dedup.clusters import export as export_clusters
from unioncat.dedup.clusters import master_record
from unioncat.dedup.clusters import members as cluster_members
from unioncat.dedup.engine import DedupStats, Deduplicator
from unioncat.dedup.review import explain
from unioncat.federated.search import federated_search, fetch_record, live_targets
from unioncat.harvesting import harvest_or_fail, import_source, load_members
from unioncat.index.build import rebuild as index_rebuild
from unioncat.index.build import update as index_update
from unioncat.index.search import run_search
from unioncat.holdings.feeds import load_feed
from unioncat.holdings.itemstore import item_counts, reextract
from unioncat.holdings.live import refresh as live_refresh
from unioncat.holdings.rota import rota
from unioncat.holdings.view import holdings_for
from unioncat.marc.records import as_iso2709, load_record
from unioncat.models import LoadStats
from unioncat.progress import ProgressLine, StageLine
from unioncat.reports import (format_dedup_summary, format_feed_report, format_holdings, format_rota, format_search,
                              format_import_summary, format_live, format_rejects, format_status, marcxml_collection, record_json, record_marcxml,
                              record_text)
from unioncat.store import Store, open_store


class _Group(click.Group):
    """Turn UnioncatError into one clear line and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UnioncatError as exc:
            click.echo(f"unioncat: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\nunioncat: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unioncat")
@click.option("--config", "config_file", metavar="FILE", envvar="UNIONCAT_CONFIG",
              help="Config file (default: $UNIONCAT_CONFIG, else ./unioncat.toml).")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """unioncat: one union catalogue over every member library's records."""
    ctx.obj = {"config_file": config_file}


def _config(ctx: click.Context) -> Config:
    obj = ctx.find_root().obj
    if "config" not in obj:
        obj["config"] = load_config(obj["config_file"])
    return obj["config"]  # type: ignore[no-any-return]


def _store(ctx: click.Context) -> Store:
    cfg = _config(ctx)
    store = open_store(cfg.store)
    ctx.call_on_close(store.close)
    return store


@cli.command("import")
@click.argument("source", required=False)
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True))
@click.option("--all", "all_sources", is_flag=True, help="Import every file source from its configured path.")
@click.option("--full", is_flag=True,
              help="This drop is the member's complete catalogue: mark its records missing from it deleted.")
@click.option("--force", is_flag=True, help="With --full: delete past the source's max_delete_fraction.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def import_cmd(ctx: click.Context, source: str | None, paths: tuple[str, ...],
               all_sources: bool, full: bool, force: bool, as_json: bool) -> None:
    """Import MARC files (ISO 2709 or MARCXML, plain or .gz) for SOURCE.

    Without PATHs the source's configured path is read.  Re-importing an unchanged
    record changes nothing; records that cannot be read go to `unioncat rejects`.  A
    drop that cannot be read whole (missing, empty, cut short, broken XML) fails that
    source, keeping what was read; the exit status is then 1.
    """
    cfg = _config(ctx)
    if all_sources == bool(source):
        raise click.UsageError("give a SOURCE (and optional PATHs), or --all")
    if force and not full:
        raise click.UsageError("--force goes with --full")
    sources = [s for s in cfg.sources if s.type == "file"] if all_sources else [cfg.source(source or "")]
    if all_sources and paths:
        raise click.UsageError("--all reads each source's configured path; give no PATHs")
    store = _store(ctx)
    results: list[LoadStats] = []
    for src in sources:
        if src.type != "file" and not paths:
            raise ConfigError(cfg.file, f"source {src.id}",
                              f"type {src.type} is harvested, not imported; give file PATHs")
        stats = _import_one(store, src, list(paths) or None, cfg, as_json, full=full, force=force)
        results.append(stats)
    _finish_report(ctx, results, as_json, harvest=False)


def _import_one(store: Store, src: SourceConfig, paths: list[str] | None, cfg: Config, quiet: bool,
                full: bool = False, force: bool = False) -> LoadStats:
    show = not quiet and sys.stderr.isatty()
    if not show:
        stats = import_source(store, src, paths, full=full, force=force, batch_size=cfg.store.batch_size)
    else:
        with click.progressbar(length=1, label=f"{src.id}: importing", file=sys.stderr,
                               show_pos=False, item_show_func=lambda s: s) as bar:
            def tick(harvester: FileHarvester, stats: LoadStats) -> None:
                done, total = harvester.progress()
                bar.length = max(total, 1)
                bar.update(done - bar.pos, f"{stats.read:,} records, {stats.rejected:,} rejected")
            stats = import_source(store, src, paths, full=full, force=force, batch_size=cfg.store.batch_size,
                                  on_batch=tick)
    if not quiet:
        click.echo(format_import_summary(stats))
    return stats


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--all", "all_sources", is_flag=True, help="Harvest every oai, sru and z3950 source.")
@click.option("--full", is_flag=True,
              help="Harvest everything, not just changes; records not seen are marked deleted.")
@click.option("--from", "from_", metavar="DATE", help="Harvest changes from DATE (OAI-PMH).")
@click.option("--until", metavar="DATE", help="Harvest changes until DATE (OAI-PMH).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def harvest(ctx: click.Context, sources: tuple[str, ...], all_sources: bool, full: bool,
            from_: str | None, until: str | None, as_json: bool) -> None:
    """Harvest member libraries over OAI-PMH, SRU or Z39.50.

    Incremental from the last successful run unless --full; an interrupted run resumes
    where it stopped.  One failing source does not stop the others; the exit status is
    1 if any failed.
    """
    cfg = _config(ctx)
    if all_sources == bool(sources):
        raise click.UsageError("give SOURCE ids, or --all")
    chosen = ([s for s in cfg.sources if s.type != "file"] if all_sources
              else [cfg.source(s) for s in sources])
    for src in chosen:
        if src.type == "file":
            raise ConfigError(cfg.file, f"source {src.id}", "type file is imported: use `unioncat import`")
    store = _store(ctx)
    results = [_harvest_one(store, src, cfg, full, from_, until, as_json) for src in chosen]
    _finish_report(ctx, results, as_json, harvest=True)


def _harvest_one(store: Store, src: SourceConfig, cfg: Config, full: bool, from_: str | None,
                 until: str | None, quiet: bool) -> LoadStats:
    line = ProgressLine(src.id, enabled=not quiet and sys.stderr.isatty())
    stats = harvest_or_fail(store, src, full=full, from_=from_, until=until,
                            batch_size=cfg.store.batch_size, on_batch=line.update)
    line.done()
    if not quiet:
        click.echo(format_import_summary(stats, harvest=True))
    return stats


def _finish_report(ctx: click.Context, results: list[LoadStats], as_json: bool,
                   harvest: bool) -> None:
    if as_json:
        key = "harvests" if harvest else "imports"
        click.echo(json.dumps({key: [s.as_dict() for s in results]}, indent=2))
    failed = [s for s in results if s.error]
    for stats in failed:
        click.echo(f"unioncat: error: {stats.source_id}: {stats.error}", err=True)
    if failed:
        ctx.exit(1)


@cli.command()
@click.option("--full", is_flag=True, help="Harvest everything, not just changes.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Load this many members at once, in processes of their own (for a PostgreSQL store).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def run(ctx: click.Context, full: bool, workers: int, as_json: bool) -> None:
    """The nightly job: import, harvest, deduplicate, index.

    Imports every file source from its path and harvests every other source
    (incremental unless --full), then deduplicates what changed and brings the search
    index up to date (--full: dedup from scratch and a new index swapped in).  A
    member that fails is reported in one line and the others go on; the exit status
    is then 1.  Runs under a lock next to the store, so two runs never overlap;
    servers keep answering from the same store throughout.  --workers N imports and
    harvests N members at once (a PostgreSQL store takes their writes side by side).
    """
    cfg = _config(ctx)
    store = _store(ctx)
    with store.run_lock():
        # The run's stages and their times are kept as a load of kind "run" (the staff console shows them).
        run_id, stages = store.start_load("", "run"), []
        outcome = "ok"
        try:
            results = []
            for src, stats, seconds in _load_all(store, cfg, full, workers, as_json):
                # One member's failure is that member's: it is recorded, and the run goes on.
                results.append(stats)
                stages.append({"stage": f"{'import' if src.type == 'file' else 'harvest'} {src.id}",
                               "seconds": round(seconds, 3), "ok": not stats.error})
            started = time.monotonic()
            dedup_stats = _run_dedup(ctx, full, as_json)
            stages.append({"stage": "dedup", "seconds": round(time.monotonic() - started, 3), "ok": True})
            started = time.monotonic()
            # After a full dedup every master is dirty: a fresh index swapped in is cheaper.
            index_stats = (index_rebuild if full else index_update)(store, cfg, None)
            stages.append({"stage": "index", "seconds": round(time.monotonic() - started, 3), "ok": True})
        except KeyboardInterrupt:
            outcome = "interrupted"
            raise
        except BaseException as exc:  # noqa: B036 -- recorded as the run's failure, then raised on
            outcome = f"failed: {exc}"
            raise
        finally:
            store.finish_load(run_id, {"stages": stages, "full": full},
                              error=outcome.removeprefix("failed: ") if outcome.startswith("failed") else "",
                              status="interrupted" if outcome == "interrupted" else "")
        if not as_json:
            click.echo(f"index: {index_stats.documents:,} documents written, {index_stats.deleted:,} deleted; "
                       f"{index_stats.total:,} master records searchable")
    if as_json:
        click.echo(json.dumps({"harvests": [s.as_dict() for s in results],
                               "dedup": dedup_stats.as_dict(), "index": index_stats.as_dict()}, indent=2))
    _finish_report(ctx, results, False, harvest=True)


def _load_all(store: Store, cfg: Config, full: bool, workers: int,
              quiet: bool) -> Iterator[tuple[SourceConfig, LoadStats, float]]:
    """Import or harvest every member: one after another here, with progress on a terminal, or
    ``workers`` at once in worker processes, each summarised as it finishes."""
    if workers > 1 and len(cfg.sources) > 1:
        for src, stats, seconds in load_members(cfg, full, workers):
            if not quiet:
                click.echo(format_import_summary(stats, harvest=src.type != "file"))
            yield src, stats, seconds
        return
    for src in cfg.sources:
        started = time.monotonic()
        if src.type == "file":
            stats = _import_one(store, src, None, cfg, quiet)
        else:
            stats = _harvest_one(store, src, cfg, full, None, None, quiet)
        yield src, stats, time.monotonic() - started


@cli.group(invoke_without_command=True)
@click.option("--full", is_flag=True, help="Rebuild every cluster from scratch (same result as incremental).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def dedup(ctx: click.Context, full: bool, as_json: bool) -> None:
    """Deduplicate member records into master records (incremental unless --full)."""
    if ctx.invoked_subcommand is not None:
        return
    stats = _run_dedup(ctx, full, as_json)
    if as_json:
        click.echo(json.dumps(stats.as_dict(), indent=2))


def _run_dedup(ctx: click.Context, full: bool, quiet: bool) -> DedupStats:
    cfg = _config(ctx)
    line = StageLine(enabled=not quiet and sys.stderr.isatty())
    stats = Deduplicator(_store(ctx), cfg, line.update).run(full=full)
    line.done()
    if not quiet:
        click.echo(format_dedup_summary(stats))
    return stats


@dedup.command("explain")
@click.argument("first", metavar="ID")
@click.argument("second", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def dedup_explain(ctx: click.Context, first: str, second: str, as_json: bool) -> None:
    """Show every check between two records, its outcome and the score."""
    result = explain(_store(ctx), _config(ctx), first, second)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(f"{first} vs {second}: {'MATCH' if result['matched'] else 'no match'}, "
               f"score {result['score']}")
    for reason in result["reasons"]:
        click.echo(f"  {reason}")
    click.echo("  clusters: " + ", ".join(f"{k} in {v}" for k, v in result["clusters"].items()))
    for line in result["overrides"]:
        click.echo(f"  override: {line}")


@cli.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(0, 10000), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.option("--sort", "sort_key", metavar="KEY", help="year or title, with :desc for descending.")
@click.option("--facet", "facets", metavar="NAMES", default="", help="library,year,language,format")
@click.option("--library", "libraries", multiple=True, metavar="CODE", help="Only records this member holds.")
@click.option("--available", is_flag=True, help="Only records with a copy on the shelf somewhere.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "marc", "marcxml"]), default="table",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (the same as --format json).")
@click.option("--live", is_flag=True, help="Also ask the live targets ([[target]], members with live = true), merged.")
@click.option("--targets", metavar="IDS", default="", help="With --live: only these targets, A,B.")
@click.option("--budget", type=click.FloatRange(0.1, 600), help="With --live: seconds to wait (default live.budget).")
@click.pass_context
def search(ctx: click.Context, query: str, limit: int, offset: int, sort_key: str | None, facets: str,
           libraries: tuple[str, ...], available: bool, fmt: str, as_json: bool, live: bool, targets: str,
           budget: float | None) -> None:
    """Search the union catalogue with CQL (bare words search everything)."""
    cfg = _config(ctx)
    if as_json:
        fmt = "json"
    if live:
        if fmt not in ("table", "json"):
            raise click.UsageError("--live gives --format table or json")
        found = federated_search(cfg, _store(ctx), query, targets=[t for t in targets.split(",") if t] or None,
                                 budget=budget, limit=limit)
        click.echo(json.dumps(found, indent=2, ensure_ascii=False) if fmt == "json" else format_live(found))
        return
    started = time.perf_counter()
    result = run_search(_store(ctx), cfg, query, limit=limit, offset=offset, sort=sort_key,
                        facets=tuple(f for f in facets.split(",") if f), libraries=libraries,
                        available=available)
    elapsed = time.perf_counter() - started
    if fmt == "json":
        click.echo(json.dumps({**result, "elapsed_ms": round(elapsed * 1000, 2)}, indent=2, ensure_ascii=False))
    elif fmt == "marc":
        store = _store(ctx)
        for rec in result["records"]:
            sys.stdout.buffer.write(as_iso2709(master_record(store, rec["id"])))
    elif fmt == "marcxml":  # one well-formed document, whatever the number of records
        store = _store(ctx)
        click.echo(marcxml_collection(master_record(store, rec["id"]) for rec in result["records"]))
    else:
        click.echo(format_search(result, elapsed))


@cli.command("fetch")
@click.argument("target", metavar="TARGET")
@click.argument("record_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["marc", "marcxml"]), default="marc", show_default=True)
@click.pass_context
def fetch(ctx: click.Context, target: str, record_id: str, fmt: str) -> None:
    """Take one record from a live target as it is (copy cataloguing): marc writes its ISO 2709
    bytes (MARC-8 or GB18030 left as sent), marcxml a MARCXML document."""
    found = fetch_record(live_targets(_config(ctx), [target])[0], record_id)
    if fmt == "marc" and found.syntax == "iso2709":
        sys.stdout.buffer.write(found.raw)
    else:
        click.echo(record_marcxml(load_record(found.raw, found.syntax, found.charset)))


@cli.group()
def clusters() -> None:
    """Master records and their members."""


@clusters.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.pass_context
def clusters_export(ctx: click.Context, file: str, fmt: str) -> None:
    """Write record_id,cluster_id for every non-deleted record."""
    count = export_clusters(_store(ctx), file, fmt)
    click.echo(f"{count:,} records written to {file}")


@clusters.command("show")
@click.argument("master_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "marc", "marcxml"]), default="text",
              show_default=True, help="text/json: the members; marc/marcxml: the master record.")
@click.pass_context
def clusters_show(ctx: click.Context, master_id: str, fmt: str) -> None:
    """Show a master record's members (and holdings), or the master record itself."""
    store = _store(ctx)
    found = cluster_members(store, master_id)
    if fmt in ("marc", "marcxml"):
        record = master_record(store, master_id)
        if fmt == "marc":
            sys.stdout.buffer.write(as_iso2709(record))
        else:
            click.echo(record_marcxml(record))
        return
    names = {s.id: s.name for s in _config(ctx).sources}
    held = holdings_for(store, [m["id"] for m in found], names)
    if fmt == "json":
        click.echo(json.dumps({"id": master_id, "members": found, "holdings": held}, indent=2,
                              ensure_ascii=False))
        return
    click.echo(f"{master_id}: {len(found)} member record{'s' * (len(found) != 1)}")
    for m in found:
        click.echo(f"  {m['id']}  {m['title'][:70]}  {m['year'] or ''}  "
                   f"completeness {m['completeness']}")
    click.echo(format_holdings(master_id, held, None))


@cli.command()
@click.argument("record_id", metavar="ID")
@click.option("--refresh", is_flag=True,
              help="Ask the members' own servers (z3950 OPAC, sru) first, within availability.budget.")
@click.option("--cluster", is_flag=True, help="Show every member's copies of the record's master record.")
@click.option("--for", "requester", metavar="MEMBER",
              help="The lending rota for a reader of MEMBER: who to borrow from, best first.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def holdings(ctx: click.Context, record_id: str, refresh: bool, cluster: bool, requester: str | None,
             as_json: bool) -> None:
    """Where to borrow a record or a master record: each member and branch, copies on
    the shelf first; with --for, the members a reader of MEMBER can borrow from, ranked
    (on the shelf first, then lenders with fewer copies out, then nearer ones)."""
    cfg = _config(ctx)
    store = _store(ctx)
    record_ids = [record_id]
    if store.get(record_id) is None:
        record_ids = store.cluster_record_ids(record_id)
        if not record_ids:
            raise UnioncatError(f"no record or master record {record_id!r} in {store.location}")
    elif cluster:
        master = store.master_of(record_id)
        record_ids = (store.cluster_record_ids(master) if master else []) or record_ids
    outcomes = live_refresh(store, cfg, record_ids) if refresh else None
    names = {s.id: s.name for s in cfg.sources}
    members = holdings_for(store, record_ids, names, outcomes)
    ranked = rota(store, cfg, cfg.source(requester).id, members) if requester else None
    if as_json:
        extra = {"for": cfg.source(requester or "").id, "rota": ranked} if ranked is not None else {}
        click.echo(json.dumps({"id": record_id, "records": record_ids, "members": members,
                               "refresh": outcomes or {}, **extra}, indent=2, ensure_ascii=False))
    else:
        click.echo(format_holdings(record_id, members, outcomes))
        if ranked is not None:
            click.echo(format_rota(cfg.source(requester or "").id, ranked))


@cli.group()
def availability() -> None:
    """Item status feeds and holdings extraction."""


@availability.command("load")
@click.argument("source")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def availability_load(ctx: click.Context, source: str, file: str, as_json: bool) -> None:
    """Apply a status feed (CSV barcode,status,due_date, or JSON) for SOURCE.

    All or nothing: a malformed row changes nothing and is reported with its row
    number; barcodes that match no item are reported and the rest is applied.
    """
    cfg = _config(ctx)
    src = cfg.source(source)
    report = load_feed(_store(ctx), src.id, file, src.status_map)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_feed_report(report))
    if not report.ok:
        for line in report.errors[:20]:
            click.echo(f"unioncat: error: {line}", err=True)
        ctx.exit(1)


@availability.command("extract")
@click.argument("source")
@click.pass_context
def availability_extract(ctx: click.Context, source: str) -> None:
    """Extract SOURCE's items again from every stored record (after a holdings setting change)."""
    src = _config(ctx).source(source)
    hook = reextract(_store(ctx), src)
    click.echo(f"{src.id}: {hook.items:,} items from its records")
    for warning in hook.warnings():
        click.echo(f"  warning: {warning}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Per source: records, deleted, rejects and the last load."""
    cfg = _config(ctx)
    store = _store(ctx)
    rows = []
    for src in cfg.sources:
        summary = store.source_summary(src.id)
        rows.append({"id": src.id, "name": src.name, "type": src.type, "format": src.format,
                     **summary, **item_counts(store, src.id)})
    if as_json:
        click.echo(json.dumps({"store": store.location, "sources": rows}, indent=2))
    else:
        click.echo(format_status(store.location, rows))


@cli.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def rejects(ctx: click.Context, source: str, as_json: bool) -> None:
    """List SOURCE's records that could not be read: file, position, offset, reason."""
    cfg = _config(ctx)
    src = cfg.source(source)
    rows = _store(ctx).rejects(src.id)
    if as_json:
        click.echo(json.dumps({"source": src.id, "rejects": rows}, indent=2))
    else:
        click.echo(format_rejects(src.id, rows))


@cli.command()
@click.argument("record_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "marc", "marcxml", "json"]),
              default="text", show_default=True,
              help="text: one line per field; marc: ISO 2709 in UTF-8; marcxml; json.")
@click.pass_context
def show(ctx: click.Context, record_id: str, fmt: str) -> None:
    """Show one record by its global id, SOURCE.LOCALID."""
    cfg = _config(ctx)
    store = _store(ctx)
    stored = store.get(record_id)
    if stored is None:
        source = record_id.split(".", 1)[0]
        if "." not in record_id or source not in {s.id for s in cfg.sources}:
            raise UnioncatError(f"{record_id!r} is not a record id: expected SOURCE.LOCALID")
        raise UnioncatError(f"no record {record_id!r} in {store.location}")
    record = load_record(stored.raw, stored.syntax, stored.charset)
    if fmt == "marc":
        sys.stdout.buffer.write(as_iso2709(record))
    elif fmt == "marcxml":
        click.echo(record_marcxml(record))
    elif fmt == "json":
        click.echo(json.dumps(record_json(stored, record), indent=2, ensure_ascii=False))
    else:
        click.echo(record_text(stored, record))


@cli.command()
@click.option("--host", help="Address to bind (default [server] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="TCP port (default [server] port, 8765).")
@click.option("--threads", type=click.IntRange(1, 1024), help="Worker threads (default [server] threads).")
@click.option("--z3950-port", type=click.IntRange(1, 65535),
              help="Also run the Z39.50 target on this port ([server] z3950_port).")
@click.option("--sru/--no-sru", default=True, show_default=True,
              help="Serve the web catalogue and SRU (--no-sru: Z39.50 only).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, threads: int | None,
          z3950_port: int | None, sru: bool) -> None:
    """Serve the web catalogue for readers, SRU and Z39.50 (waitress; see the README for gunicorn)."""
    from unioncat.serve import run

    cfg = _config(ctx)
    host, port, z_port = host or cfg.server.host, port or cfg.server.port, z3950_port or cfg.server.z3950_port
    if not sru and not z_port:
        raise UnioncatError("--no-sru needs --z3950-port (or [server] z3950_port)")
    lines = [f"unioncat: web catalogue at http://{host}:{port}/",
             f"unioncat: SRU at http://{host}:{port}{cfg.server.base_path} (explain: ?operation=explain&version=1.2)"] \
        if sru else []
    if z_port:
        lines.append(f"unioncat: Z39.50 at tcp:{host}:{z_port}/{cfg.server.z3950_database}")
    run(cfg, host, port, threads or cfg.server.threads, z_port, sru,
        announce=lambda: click.echo("\n".join(lines), err=True))


# The consortium office's commands (staff accounts, reports, manual dedup decisions) register
# themselves on the groups above.
from unioncat import cli_index, cli_office  # noqa: E402,F401


def main() -> None:
    """Run the command line."""
    cli(prog_name="unioncat")
