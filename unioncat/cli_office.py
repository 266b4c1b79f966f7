"""The consortium office's commands: manual dedup decisions and their log, staff accounts, reports.

Registered on :mod:`unioncat.cli`'s groups when it is imported (the entry point is ``unioncat.cli:main``).
"""
from __future__ import annotations

import json
import os
import sys

import click

from unioncat.cli import _config, _store, cli, dedup
from unioncat.dedup.review import decide, log_entries
from unioncat.holdings.reports import REPORTS
from unioncat.holdings.reports import report as consortium_report
from unioncat.index.build import update as index_update
from unioncat.reports import format_report, report_csv
from unioncat.staff import accounts
from unioncat.staff.accounts import ROLES


@dedup.command("log")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def dedup_log(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Show who merged, kept apart or split what, and when (newest first)."""
    entries = log_entries(_store(ctx), limit)
    if as_json:
        click.echo(json.dumps({"log": entries}, indent=2, ensure_ascii=False))
        return
    for e in entries:
        click.echo(f"{e['at']}  {e['who']:<16} {e['action']:<6} {e['a']} {e['b']}".rstrip() + f"  ({e['masters']})")
    if not entries:
        click.echo("no manual decisions yet")


def _who() -> str:
    """Name the person at the command line in the dedup log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@dedup.command("split")
@click.argument("record_id", metavar="RECORD_ID")
@click.pass_context
def dedup_split(ctx: click.Context, record_id: str) -> None:
    """Take a record out of its cluster for good (later runs keep it apart)."""
    click.echo(decide(_store(ctx), _config(ctx), _who(), "split", record_id))
    _reindex_after_override(ctx)


def _pair_override(action: str, doc: str) -> None:
    """Add ``unioncat dedup ACTION ID ID``: a manual decision on two records, logged and kept."""
    @dedup.command(action, help=doc)
    @click.argument("first", metavar="ID")
    @click.argument("second", metavar="ID")
    @click.pass_context
    def command(ctx: click.Context, first: str, second: str) -> None:
        click.echo(decide(_store(ctx), _config(ctx), _who(), action, first, second))
        _reindex_after_override(ctx)


_pair_override("merge", "Put two records in one cluster for good (later runs keep them together).")
_pair_override("apart", "Never put these two records in one cluster (two editions; later runs keep them apart).")


def _reindex_after_override(ctx: click.Context) -> None:
    """Bring the search index in step with a manual split or merge (or say how)."""
    cfg = _config(ctx)
    if not os.path.isdir(cfg.index.path):
        click.echo("no search index yet: run `unioncat index` to make the change searchable")
        return
    stats = index_update(_store(ctx), cfg, None)
    click.echo(f"index updated: {stats.documents:,} master records rewritten, {stats.deleted:,} removed")


@cli.group("staff")
def staff() -> None:
    """Staff accounts of the console at /staff (roles: viewer, cataloguer, admin)."""


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@staff.command("add")
@click.argument("name", metavar="USER")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_context
def staff_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a staff account."""
    accounts.add(_store(ctx), name, _new_password(password_stdin), role)
    click.echo(f"{name}: added, role {role}")


@staff.command("remove")
@click.argument("name", metavar="USER")
@click.pass_context
def staff_remove(ctx: click.Context, name: str) -> None:
    """Remove a staff account (its sessions end)."""
    accounts.remove(_store(ctx), name)
    click.echo(f"{name}: removed")


@staff.command("passwd")
@click.argument("name", metavar="USER")
@click.option("--role", type=click.Choice(ROLES), help="Also give the account this role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_context
def staff_passwd(ctx: click.Context, name: str, role: str | None, password_stdin: bool) -> None:
    """Set a staff account's password (and role); its sessions end."""
    accounts.passwd(_store(ctx), name, _new_password(password_stdin), role)
    click.echo(f"{name}: password changed" + (f", role {role}" if role else ""))


@staff.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def staff_list(ctx: click.Context, as_json: bool) -> None:
    """List the staff accounts."""
    found = accounts.accounts(_store(ctx))
    if as_json:
        click.echo(json.dumps({"staff": found}, indent=2))
        return
    click.echo(f"{'USER':<24} {'ROLE':<11} {'CREATED':<20} LAST LOGIN")
    for a in found:
        click.echo(f"{a['name']:<24} {a['role']:<11} {a['created']:<20} {a['last_login'] or 'never'}")


@cli.command("report")
@click.argument("name", type=click.Choice(REPORTS))
@click.option("--min", "minimum", type=click.IntRange(0), default=5, show_default=True,
              help="copies: titles with more copies than this, consortium-wide.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print as CSV.")
@click.pass_context
def report_cmd(ctx: click.Context, name: str, minimum: int, as_json: bool, as_csv: bool) -> None:
    """Consortium reports: overlap (titles each pair of members holds), unique (titles no
    other member holds), copies (titles with many copies: a shared reserve), collisions
    (barcodes and holding codes more than one member uses)."""
    if as_json and as_csv:
        raise click.UsageError("--json or --csv, not both")
    cfg = _config(ctx)
    found = consortium_report(_store(ctx), name, [s.id for s in cfg.sources], minimum)
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
    elif as_csv:
        click.echo(report_csv(found[name]), nl=False)
    else:
        click.echo(format_report(name, found[name], {s.id: s.name for s in cfg.sources}, minimum))
