"""Charts of the consortium reports, drawn on the server as SVG (no script, no style attribute:
the console's Content-Security-Policy allows neither): the overlap of each pair of members as a
heat map, the titles each member holds (and those only it holds) as bars.  Each chart has a
title and a description, and every cell or bar its figure in a <title>, for screen readers."""
from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

CELL = 56
BAR = 22


def chart(name: str, rows: list[dict[str, Any]], members: list[str]) -> str:
    """Return the SVG of a report's chart, or "" for a report shown as a table only."""
    if name == "overlap":
        return _heat_map(rows, members)
    if name == "unique":
        return _bars(rows)
    return ""


def _shade(value: int, top: int) -> str:
    """Return a blue from pale (none) to dark (the most), by the value's share of the top."""
    share = value / top if top else 0.0
    light = round(96 - share * 62)
    return f"hsl(213, 70%, {light}%)"


def _heat_map(rows: list[dict[str, Any]], members: list[str]) -> str:
    names = sorted(set(members) | {r["a"] for r in rows} | {r["b"] for r in rows})
    shared = {(r["a"], r["b"]): int(r["titles"]) for r in rows}
    shared.update({(b, a): n for (a, b), n in list(shared.items())})
    top = max(shared.values(), default=0)
    label = max((len(n) for n in names), default=1) * 9 + 16
    size = label + CELL * len(names)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="overlap-title overlap-desc"'
           f' viewBox="0 0 {size} {size}" width="{size}" height="{size}" class="chart">',
           '<title id="overlap-title">Titles held by both members of each pair</title>',
           '<desc id="overlap-desc">A square per pair of members; the darker, the more titles they share.</desc>']
    for i, name in enumerate(names):
        at = label + i * CELL + CELL // 2
        out.append(f'<text x="{label - 8}" y="{at + 5}" text-anchor="end">{escape(name)}</text>')
        out.append(f'<text x="{at}" y="{label - 8}" text-anchor="middle">{escape(name)}</text>')
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            x, y = label + j * CELL, label + i * CELL
            if a == b:
                out.append(f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" fill="#eeeeee"/>')
                continue
            n = shared.get((a, b), 0)
            dark = top and n / top > 0.55
            out.append(f'<g><title>{escape(a)} and {escape(b)}: {n:,} titles</title>'
                       f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" fill={quoteattr(_shade(n, top))}/>'
                       f'<text x="{x + CELL // 2 - 1}" y="{y + CELL // 2 + 4}" text-anchor="middle"'
                       f' fill="{"#ffffff" if dark else "#111111"}">{n:,}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _bars(rows: list[dict[str, Any]]) -> str:
    top = max((int(r["titles"]) for r in rows), default=0)
    label = max((len(str(r["member"])) for r in rows), default=1) * 9 + 16
    width, scale = label + 420, 360 / top if top else 0.0
    height = 40 + BAR * 2 * len(rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="unique-title unique-desc"'
           f' viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="chart">',
           '<title id="unique-title">Titles per member</title>',
           '<desc id="unique-desc">A bar per member: its titles; the dark part, those no other member holds.</desc>']
    for i, r in enumerate(rows):
        y = 10 + i * BAR * 2
        held, only = int(r["titles"]), int(r["unique"])
        out.append(f'<text x="{label - 8}" y="{y + BAR - 6}" text-anchor="end">{escape(str(r["member"]))}</text>')
        out.append(f'<g><title>{escape(str(r["member"]))}: {held:,} titles, {only:,} held by no other member</title>'
                   f'<rect x="{label}" y="{y}" width="{max(held * scale, 1):.1f}" height="{BAR}" fill="#9ec5f0"/>'
                   f'<rect x="{label}" y="{y}" width="{only * scale:.1f}" height="{BAR}" fill="#1f5fa8"/>'
                   f'<text x="{label + held * scale + 6:.1f}" y="{y + BAR - 6}">{held:,} ({only:,} only here)</text></g>')
    out.append("</svg>")
    return "".join(out)
