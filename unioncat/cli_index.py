"""`unioncat index`: bringing the search index up to date, and copying it between the nightly
machine and serving machines (export, install); registered on cli when it is imported."""
from __future__ import annotations

import json
from typing import Any

import click

from unioncat.cli import _config, _store, cli
from unioncat.index.build import rebuild as index_rebuild
from unioncat.index.build import update as index_update
from unioncat.index.build import export as export_index
from unioncat.index.build import install as install_index


@cli.group("index", invoke_without_command=True)
@click.option("--rebuild", is_flag=True, help="Build the whole index anew, beside the old one, and swap it in.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def index_cmd(ctx: click.Context, rebuild: bool, as_json: bool) -> None:
    """Bring the search index up to date with the master records (export and install copy it
    between machines)."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = _config(ctx)
    store = _store(ctx)
    stats = (index_rebuild if rebuild else index_update)(store, cfg, None)
    if as_json:
        click.echo(json.dumps(stats.as_dict(), indent=2))
    else:
        rate = stats.documents / stats.elapsed if stats.elapsed else 0
        click.echo(f"index ({'rebuilt' if stats.rebuilt else 'incremental'}): {stats.documents:,} documents "
                   f"written, {stats.deleted:,} deleted in {stats.elapsed:.1f} s ({rate:,.0f}/s); "
                   f"{stats.total:,} master records searchable")


@index_cmd.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def index_export(ctx: click.Context, directory: str, as_json: bool) -> None:
    """Copy the index to DIRECTORY, switched in at once: a serving machine's index directory
    (its servers move to the copy on their next look), or a folder to rsync to them from.
    Taken under the run lock, so no nightly run changes the index while it is copied."""
    _copied(export_index(_store(ctx), _config(ctx), directory), as_json)


@index_cmd.command("install")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def index_install(ctx: click.Context, directory: str, as_json: bool) -> None:
    """On a serving machine: switch in an exported index received in DIRECTORY (by rsync) as
    this machine's index, checked and exchanged in one rename."""
    _copied(install_index(_config(ctx), directory), as_json)


def _copied(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"index: {report['documents']:,} master records ({report['files']:,} files, "
                   f"{report['bytes'] / 2**20:,.1f} MiB) from {report['source']} now at {report['target']}, "
                   f"in {report['seconds']} s")
