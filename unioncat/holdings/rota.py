"""The lending rota: which members a reader of one member can borrow a book from, in order.

For a requesting member R and the holdings of a record (``holdings.view.holdings_for``):
members other than R that lend to the consortium (``lends``) and have a loanable copy
(items not for loan, lost or missing never count), ranked by

1. a copy on the shelf now before none;
2. fewer of the member's copies out on loan across the whole store, so that no one
   lender carries the consortium (ReShare balances lenders the same way);
3. the configured distance from R (``R.distances``, or the lender's own ``distances``
   to R; unknown last);
4. the member code, so that the order never changes by chance.

Each entry says why it stands where it does.
"""
from __future__ import annotations

from typing import Any

from unioncat.config.model import Config
from unioncat.store import Store

NEVER_LOANABLE = {"not_for_loan", "lost", "missing"}
def copies_out(store: Store) -> dict[str, int]:
    """Return each member's items on loan now (the newest of record and feed status)."""
    return store.on_loan_by_source()


def rota(store: Store, cfg: Config, requester: str, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the ranked lenders of a record for a reader of ``requester`` (see the module)."""
    sources = {s.id: s for s in cfg.sources}
    mine = sources[requester]
    out_now = copies_out(store)
    entries: dict[str, dict[str, Any]] = {}
    for member in members:
        source = member["source"]
        if source == requester or not sources.get(source, mine).lends:
            continue
        loanable = [i for i in member["items"] if i["status"] not in NEVER_LOANABLE]
        if not loanable:
            continue
        entry = entries.setdefault(source, {
            "member": source, "name": member["name"], "available": 0, "loanable": 0, "next_due": None,
            "copies_out": out_now.get(source, 0), "distance": _distance(mine, sources.get(source), source),
            "call_numbers": []})
        entry["available"] += sum(i["count"] for i in loanable if i["status"] == "available")
        entry["loanable"] += sum(i["count"] for i in loanable)
        dues = sorted(i["due_date"] for i in loanable if i["status"] == "on_loan" and i["due_date"])
        if dues and (entry["next_due"] is None or dues[0] < entry["next_due"]):
            entry["next_due"] = dues[0]
        entry["call_numbers"] = sorted(set(entry["call_numbers"]) | set(member["call_numbers"]))
    ranked = sorted(entries.values(), key=lambda e: (e["available"] == 0, e["copies_out"],
                                                     e["distance"] if e["distance"] is not None else float("inf"),
                                                     e["member"]))
    for rank, entry in enumerate(ranked, 1):
        entry["rank"] = rank
        entry["reason"] = (f"{entry['available']} on the shelf" if entry["available"]
                           else f"none on the shelf{', next due ' + entry['next_due'][:10] if entry['next_due'] else ''}") \
            + f"; {entry['copies_out']} of its copies out" \
            + (f"; distance {entry['distance']:g}" if entry["distance"] is not None else "; distance not set")
    return ranked


def _distance(requester: Any, lender: Any, code: str) -> float | None:
    far = (requester.distances or {}).get(code)
    if far is None and lender is not None:
        far = (lender.distances or {}).get(requester.id)
    return float(far) if far is not None else None
