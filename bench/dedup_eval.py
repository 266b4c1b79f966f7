#!/usr/bin/env python3
"""Evaluate deduplication on labelled data through the real CLI; print P/R/F1 and records/s.

    .venv/bin/python bench/dedup_eval.py [--sets dblp-acm,bib-dedupe,synthetic,loc200k]

For each set it writes MARC files per member, runs `unioncat import`, `unioncat dedup`
and `unioncat clusters export` in child processes, and compares the exported
clusters with the truth as pairs of records (pairwise precision, recall and F1).

* dblp-acm: DBLP and ACM as two members, truth = the 2,224-pair perfect mapping.
* bib-dedupe: each topic as one member whose own duplicates may merge
  (dedup_within_source), truth = merged_record_ids.csv.
* synthetic: 5 members built from 2,500 LoC records with cataloguing differences
  (ISBN forms, punctuation, dropped subtitles, typos, author forms, 260 vs 264, local
  fields, Chinese titles in Traditional or Simplified script) and hard negatives
  (volumes of one set, editions of one work, one generic title by different authors,
  one ISBN reused by two works); reports how many hard negatives were merged.
* loc200k: the 200,000 LoC records as 4 members of 50,000: records/s of `dedup --full`.
Needs ../shared/data.
"""
from __future__ import annotations

import argparse
import copy
import csv
import gzip
import itertools
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import opencc
import pymarc
from pymarc import Field, Indicators, Subfield

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def unioncat(cfg: Path, *args: str) -> str:
    """Run the CLI in a child process; return its stdout."""
    out = subprocess.run([sys.executable, "-m", "unioncat", "--config", str(cfg), *args],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode:
        raise SystemExit(f"unioncat {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def config(work: Path, sources: list[tuple[str, Path, bool]]) -> Path:
    lines = ["[store]", f'path = "{work / "store.db"}"', "batch_size = 5000"]
    for sid, path, within in sources:
        lines += ["[[source]]", f'id = "{sid}"', f'name = "{sid}"', 'type = "file"', f'path = "{path}"',
                  f"dedup_within_source = {'true' if within else 'false'}"]
    cfg = work / "unioncat.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def run_set(work: Path, sources: list[tuple[str, Path, bool]]) -> tuple[dict[str, str], dict]:
    """Import, dedup, export; return (record id -> cluster id, dedup stats)."""
    cfg = config(work, sources)
    unioncat(cfg, "import", "--all", "--json")
    stats = json.loads(unioncat(cfg, "dedup", "--full", "--json"))
    unioncat(cfg, "clusters", "export", str(work / "clusters.csv"))
    with open(work / "clusters.csv", encoding="utf-8") as fh:
        return {r["record_id"]: r["cluster_id"] for r in csv.DictReader(fh)}, stats


def pairs_of(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
    out = set()
    for members in groups.values():
        for a, b in itertools.combinations(sorted(members), 2):
            out.add((a, b))
    return out


def predicted_pairs(clusters: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for rid, cid in clusters.items():
        groups[cid].append(rid)
    return pairs_of(groups)


def prf(pred: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def record(control: str, title: str, authors: list[str], year: str, leader: str = "00000nam a2200000 a 4500",
           host: str = "", host_part: str = "") -> pymarc.Record:
    rec = pymarc.Record(leader=leader)
    rec.add_field(Field(tag="001", data=control))
    rec.add_field(Field(tag="008", data=f"000000s{year or '    '}    xx            000 0 eng d"))
    if authors:
        rec.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", authors[0])]))
    rec.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=[Subfield("a", title or "")]))
    if year:
        rec.add_field(Field(tag="260", indicators=Indicators(" ", " "), subfields=[Subfield("c", year)]))
    for name in authors[1:]:
        rec.add_field(Field(tag="700", indicators=Indicators("1", " "), subfields=[Subfield("a", name)]))
    if host:
        subs = [Subfield("t", host)] + ([Subfield("g", host_part)] if host_part else [])
        rec.add_field(Field(tag="773", indicators=Indicators("0", " "), subfields=subs))
    return rec


def invert(name: str) -> str:
    """'D. Scott Mackay' -> 'Mackay, D. Scott'."""
    parts = name.strip().split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else name.strip()


def write(path: Path, records: list[pymarc.Record]) -> Path:
    with open(path, "wb") as fh:
        for rec in records:
            fh.write(rec.as_marc())
    return path


# -- the sets ------------------------------------------------------------------------
def dblp_acm(work: Path) -> dict:
    base = DATA / "dedup-dblp-acm-leipzig"
    sources = []
    for sid, name in (("DBLP", "DBLP2.csv"), ("ACM", "ACM.csv")):
        with open(base / name, encoding="latin-1") as fh:
            recs = [record(row["id"], row["title"], [invert(a) for a in row["authors"].split(",") if a.strip()],
                           row["year"], "00000nab a2200000 a 4500", row["venue"]) for row in csv.DictReader(fh)]
        sources.append((sid, write(work / f"{sid}.mrc", recs), False))
    with open(base / "DBLP-ACM_perfectMapping.csv", encoding="latin-1") as fh:
        truth = {tuple(sorted((f"DBLP.{r['idDBLP']}", f"ACM.{r['idACM']}"))) for r in csv.DictReader(fh)}
    clusters, stats = run_set(work, sources)
    return score("DBLP-ACM", clusters, truth, stats)


def bib_dedupe(work: Path, topic: str) -> dict:
    folder = DATA / "dedup-bib-dedupe-ldd" / topic
    with open(folder / "records_pre_merged.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    recs = [record(r["ID"], r["title"], [a.strip() for a in (r["author"] or "").split(" and ") if a.strip()],
                   (r["year"] or "")[:4], "00000nab a2200000 a 4500", r.get("journal") or "",
                   _host_part(r)) for r in rows]
    path = write(work / "lit.mrc", recs)
    groups = {}
    with open(folder / "merged_record_ids.csv", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh)):
            groups[n] = [f"LIT.{i}" for i in row["merged_ids"].split(";")]
    clusters, stats = run_set(work, [("LIT", path, True)])
    return score(f"bib-dedupe {topic}", clusters, pairs_of(groups), stats)


def _host_part(row: dict[str, str]) -> str:
    """773 $g from a reference's volume, number and first page, as far as it gives them."""
    volume, number = (row.get("volume") or "").strip(), (row.get("number") or "").strip()
    first_page = (row.get("pages") or "").split("-")[0].strip()
    if not (volume and number and first_page.isdigit()):
        return ""  # a partial place would veto against a complete one
    return f"vol. {volume}, no. {number}, p. {first_page}"


def score(name: str, clusters: dict[str, str], truth: set[tuple[str, str]], stats: dict,
          extra: str = "") -> dict:
    p, r, f = prf(predicted_pairs(clusters), truth)
    line = (f"{name:<28} records {len(clusters):>7,}  true pairs {len(truth):>6,}  P {p:.4f}  R {r:.4f}  "
            f"F1 {f:.4f}  dedup {stats['records_per_second']:>6,} rec/s{extra}")
    print(line, flush=True)
    return {"set": name, "precision": p, "recall": r, "f1": f, "records_per_second": stats["records_per_second"]}


# -- the synthetic consortium --------------------------------------------------------
def _loc(n: int, chunk: str = "150001-160000", skip: int = 0) -> list[pymarc.Record]:
    out = []
    with gzip.open(DATA / "loc-booksall-2016" / f"BooksAll.2016.part01.recs{chunk}.mrc.gz") as fh:
        for rec in pymarc.MARCReader(fh, force_utf8=True):
            if rec is None or "245" not in rec or "008" not in rec or rec["245"].get("n"):
                continue
            if skip:
                skip -= 1
                continue
            out.append(rec)
            if len(out) == n:
                break
    return out


def _typo(text: str, rnd: random.Random) -> str:
    words = text.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]), default=None)
    if longest is None or len(words[longest]) < 5:
        return text
    w = words[longest]
    i = rnd.randrange(1, len(w) - 2)
    words[longest] = w[:i] + w[i + 1] + w[i] + w[i + 2:]
    return " ".join(words)


def _isbn_form(value: str, rnd: random.Random) -> str:
    digits = value.split()[0].replace("-", "") if value.split() else ""
    if not digits[:9].isdigit():  # real records carry typos ("O" for 0): left as they are
        return value
    if len(digits) == 10 and rnd.random() < 0.5:
        core = "978" + digits[:9]
        check = (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(core)) % 10) % 10
        digits = core + str(check)
    if rnd.random() < 0.4:
        digits = f"{digits[:1]}-{digits[1:4]}-{digits[4:9]}-{digits[9:]}" if len(digits) == 10 else \
            f"{digits[:3]}-{digits[3:4]}-{digits[4:7]}-{digits[7:12]}-{digits[12:]}"
    return digits + (" (pbk.)" if rnd.random() < 0.3 else "")


SCRIPT: dict[int, str] = {}  # id() of a varied copy -> "roman", "trad" or "simp"
NEGATIVE_KINDS = {"vol": "volumes", "ed": "editions", "g": "generic titles", "isbn": "one ISBN two works",
                  "pub": "other publisher", "ised": "2nd ed. with other ISBN", "year": "years apart"}
REPRINTERS = ["Dover Publications", "Penguin Books", "Routledge", "Wiley", "Springer", "Nauka", "Gallimard"]
REPRINTERS_CJK = ["中华书局", "商务印书馆", "人民出版社"]


def _new_isbn(rnd: random.Random) -> str:
    core = "978" + "".join(str(rnd.randrange(10)) for _ in range(9))
    return core + str((10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(core)) % 10) % 10)


def _publisher_form(value: str, rnd: random.Random) -> str:
    """One publisher as cataloguers write it: with or without the company's form and the ISBD mark."""
    text = value.rstrip(" ,:;.")
    roll = rnd.random()
    if roll < 0.15:
        return text + ", Inc."
    if roll < 0.3:
        return text.replace(" Publishing", "").replace(" Publishers", "").replace(", Inc", "")
    if roll < 0.4 and not text.endswith("Ltd"):
        return text + " Ltd."
    return value


def vary(base: pymarc.Record, rnd: random.Random, t2s: opencc.OpenCC) -> pymarc.Record:
    """A member's copy of a record: the same edition, catalogued differently."""
    rec = copy.deepcopy(base)
    rec.remove_fields("001", "003", "005", "906", "925", "955")
    if rnd.random() < 0.5:
        rec.remove_fields("035")
    if rnd.random() < 0.5:
        rec.remove_fields("010")
    for f in rec.get_fields("020"):
        if f.get("a"):
            f["a"] = _isbn_form(f["a"], rnd)
    title = rec["245"]
    vernacular = next((f for f in rec.get_fields("880") if (f.get("6") or "").startswith("245")), None)
    mode = rnd.choice(["roman", "trad", "simp"]) if vernacular is not None else "roman"
    if mode != "roman" and vernacular is not None and vernacular.get("a"):
        value = vernacular["a"] if mode == "trad" else t2s.convert(vernacular["a"])
        title["a"] = value
        title.indicators = Indicators(title.indicators[0], "0")  # the romanised form's article is not this one's
        rec.remove_field(vernacular)
    if rnd.random() < 0.25 and title.get("b"):
        title.delete_subfield("b")
    if rnd.random() < 0.5:
        for sub in title.subfields:
            pass
        title["a"] = title["a"].rstrip(" /:;,.")
    if rnd.random() < 0.08 and mode == "roman":
        title["a"] = _typo(title["a"], rnd)
    author = rec.get("100")
    if author is not None:
        if rnd.random() < 0.5 and author.get("d"):
            author.delete_subfield("d")
        if rnd.random() < 0.2 and author.get("a") and "," in author["a"]:
            surname, _, rest = author["a"].partition(",")
            if rest.strip():
                author["a"] = f"{surname}, {rest.strip()[0]}."
    imprint = rec.get("260")
    if imprint is not None and len(imprint.get_subfields("b")) == 1:
        imprint["b"] = _publisher_form(imprint["b"], rnd)
    if imprint is not None and rnd.random() < 0.3:
        rec.remove_field(imprint)
        rec.add_ordered_field(Field(tag="264", indicators=Indicators(" ", "1"), subfields=imprint.subfields))
    if rnd.random() < 0.5:
        rec.add_ordered_field(Field(tag="949", indicators=Indicators(" ", " "),
                                    subfields=[Subfield("a", "LOCAL"), Subfield("i", str(rnd.random()))]))
    SCRIPT[id(rec)] = mode
    return rec


def synthetic(work: Path, n: int = 2500, seed: int = 7) -> dict:
    rnd = random.Random(seed)
    t2s = opencc.OpenCC("t2s")
    members = ["M1", "M2", "M3", "M4", "M5"]
    held: dict[str, list[pymarc.Record]] = {m: [] for m in members}
    truth: dict[str, list[str]] = defaultdict(list)

    def add(member: str, rec: pymarc.Record, group: str) -> str:
        local = f"{member.lower()}{len(held[member]):06d}"
        rec.remove_fields("001")
        rec.add_ordered_field(Field(tag="001", data=local))
        held[member].append(rec)
        truth[group].append(f"{member}.{local}")
        return f"{member}.{local}"

    base = _loc(n)
    script: dict[str, str] = {}
    for i, rec in enumerate(base):
        for member in rnd.sample(members, rnd.choice([1, 2, 2, 3, 3, 4])):
            copy_ = vary(rec, rnd, t2s)
            script[add(member, copy_, f"b{i}")] = SCRIPT[id(copy_)]
    negatives: list[tuple[str, str]] = []  # pairs that must never be one master, in kinds
    extra = _loc(140, skip=n)
    for j, rec in enumerate(extra[:30]):  # volumes of one set
        ids = []
        for vol, member in (("v. 1", "M1"), ("v. 2", "M2"), ("v. 3", "M3")):
            part = vary(rec, rnd, t2s)
            part["245"].add_subfield("n", vol)
            ids.append(add(member, part, f"vol{j}{vol}"))
        negatives += list(itertools.combinations(ids, 2))
    for j, rec in enumerate(extra[30:60]):  # editions of one work
        ids = []
        year = rec["008"].data[7:11]
        for ed, plus, member in (("2nd ed.", 3, "M4"), ("3rd ed.", 7, "M5")):
            version = vary(rec, rnd, t2s)
            version.remove_fields("020", "010", "035", "250")
            version.add_ordered_field(Field(tag="250", indicators=Indicators(" ", " "), subfields=[Subfield("a", ed)]))
            if year.isdigit():
                data = version["008"].data
                version["008"].data = data[:7] + str(int(year) + plus) + data[11:]
            ids.append(add(member, version, f"ed{j}{ed}"))
        negatives += list(itertools.combinations(ids, 2))
    for j in range(20):  # one generic title, different authors
        a = record("x", "Introduction to physics", [f"Author{j}, Anne."], str(1990 + j))
        b = record("x", "Introduction to physics", [f"Writer{j}, Bob."], str(1990 + j))
        c = record("x", "高等数学", [f"李{'一二三四五六七八九十'[j % 10]}"], str(2000 + j % 5))
        d = record("x", "高等数学", [f"王{'一二三四五六七八九十'[j % 10]}"], str(2000 + j % 5))
        ids = [add("M1", a, f"g{j}a"), add("M2", b, f"g{j}b"), add("M3", c, f"g{j}c"), add("M4", d, f"g{j}d")]
        negatives += [(ids[0], ids[1]), (ids[2], ids[3])]
    more = _loc(90, skip=n + 140)
    for j, rec in enumerate(more[:30]):  # a reprint by another publisher, the same year, its own ISBN
        first, second = vary(rec, rnd, t2s), vary(rec, rnd, t2s)
        original = " ".join(f.get("b") or "" for f in rec.get_fields("260", "264"))
        # another publisher written in the script the record writes its publisher in
        reprinters = REPRINTERS_CJK if any("\u4e00" <= c <= "\u9fff" for c in original) else REPRINTERS
        for version, publisher in ((first, None), (second, reprinters[j % len(reprinters)])):
            version.remove_fields("020", "010", "035", "250")
            version.add_ordered_field(Field(tag="020", indicators=Indicators(" ", " "),
                                            subfields=[Subfield("a", _new_isbn(rnd))]))
            if publisher:
                for imprint in version.get_fields("260", "264"):
                    imprint.subfields = [Subfield(s.code, publisher if s.code == "b" else s.value)
                                         for s in imprint.subfields]
        negatives.append((add("M1", first, f"pub{j}a"), add("M3", second, f"pub{j}b")))
    for j, rec in enumerate(more[30:60]):  # a second edition without a statement on the first, ISBNs differ
        first, second = vary(rec, rnd, t2s), vary(rec, rnd, t2s)
        year = rec["008"].data[7:11]
        for version in (first, second):
            version.remove_fields("020", "010", "035", "250")
            version.add_ordered_field(Field(tag="020", indicators=Indicators(" ", " "),
                                            subfields=[Subfield("a", _new_isbn(rnd))]))
        second.add_ordered_field(Field(tag="250", indicators=Indicators(" ", " "), subfields=[Subfield("a", "2nd ed.")]))
        if year.isdigit():
            second["008"].data = second["008"].data[:7] + str(int(year) + 1) + second["008"].data[11:]
        negatives.append((add("M2", first, f"ised{j}a"), add("M4", second, f"ised{j}b")))
    for j, rec in enumerate(more[60:90]):  # the same text years later, nothing else to tell them apart
        first, second = vary(rec, rnd, t2s), vary(rec, rnd, t2s)
        year = rec["008"].data[7:11]
        for version in (first, second):
            version.remove_fields("020", "010", "035", "250")
        if year.isdigit():
            second["008"].data = second["008"].data[:7] + str(int(year) + 3) + second["008"].data[11:]
            for imprint in second.get_fields("260", "264"):
                imprint.subfields = [Subfield(s.code, f"{int(year) + 3}." if s.code == "c" else s.value)
                                     for s in imprint.subfields]
        negatives.append((add("M3", first, f"year{j}a"), add("M5", second, f"year{j}b")))
    for j, (x, y) in enumerate(zip(extra[60:140:2], extra[61:140:2])):  # one ISBN, two works
        first, second = vary(x, rnd, t2s), vary(y, rnd, t2s)
        for rec in (first, second):
            rec.remove_fields("020", "010", "035")
            rec.add_ordered_field(Field(tag="020", indicators=Indicators(" ", " "),
                                        subfields=[Subfield("a", "0306406152")]))
        negatives.append((add("M2", first, f"isbn{j}a"), add("M5", second, f"isbn{j}b")))
    sources = [(m, write(work / f"{m}.mrc", held[m]), False) for m in members]
    clusters, stats = run_set(work, sources)
    pred = predicted_pairs(clusters)
    merged = sum(1 for a, b in negatives if tuple(sorted((a, b))) in pred)
    group_of = {rid: group for group, ids in truth.items() for rid in ids}
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a, b in negatives:
        kind = NEGATIVE_KINDS["".join(itertools.takewhile(str.isalpha, group_of[a]))]
        kinds[kind][1] += 1
        kinds[kind][0] += tuple(sorted((a, b))) in pred
    missed = sorted(pairs_of(truth) - pred)
    if os.environ.get("DEDUP_EVAL_SHOW"):  # what went wrong, for whoever tunes the comparator
        for a, b in sorted(p for p in pred - pairs_of(truth))[:40] + missed[:40]:
            print(f"    {'FALSE MERGE' if (a, b) in pred else 'MISSED'} {a} {b}: {group_of[a]} {group_of[b]}")
            why = json.loads(unioncat(work / "unioncat.toml", "dedup", "explain", a, b, "--json"))
            with sqlite3.connect(work / "store.db") as db:
                edge = db.execute("SELECT score FROM dedup_edges WHERE a=? AND b=?", (a, b)).fetchone()
                keys = db.execute("SELECT count(*) FROM dedup_keys x JOIN dedup_keys y ON x.key = y.key"
                                  " WHERE x.id=? AND y.id=?", (a, b)).fetchone()[0]
            print(f"      matched {why['matched']} score {why['score']} edge {edge} shared keys {keys}: "
                  + "; ".join(why["reasons"]))
            for rec in why["records"]:
                print(f"        {rec['title']!r} / {rec['title_full']!r} {rec['authors'][:2]} {rec['author_keys']}"
                      f" {rec['alt_titles'][:2]}")
    scripts = [p for p in pairs_of(truth) if {script.get(p[0]), script.get(p[1])} == {"trad", "simp"}]
    found = sum(1 for p in scripts if p in pred)
    return score("synthetic consortium", clusters, pairs_of(truth), stats,
                 f"  hard negatives merged {merged}/{len(negatives)} ("
                 + ", ".join(f"{kind} {m}/{t}" for kind, (m, t) in sorted(kinds.items()))
                 + f"); Traditional vs Simplified title pairs found {found}/{len(scripts)}") \
        | {"hard_negatives_merged": merged}


def loc200k(work: Path) -> dict:
    chunks = sorted((DATA / "loc-booksall-2016").glob("*.mrc.gz"))
    sources = []
    for n in range(4):
        folder = work / f"L{n}"
        folder.mkdir()
        for chunk in chunks[n * 5:(n + 1) * 5]:
            (folder / chunk.name).symlink_to(chunk)
        sources.append((f"L{n}", folder, False))
    cfg = config(work, sources)
    unioncat(cfg, "import", "--all", "--json")
    start = time.perf_counter()
    stats = json.loads(unioncat(cfg, "dedup", "--full", "--json"))
    wall = time.perf_counter() - start
    print(f"{'LoC 200k, 4 members':<28} records {stats['records']:>7,}  clusters {stats['clusters']:,}  "
          f"merged {stats['merged_records']:,}  comparisons {stats['comparisons']:,}  oversized blocks "
          f"{stats['oversized_blocks']}  dedup {stats['records_per_second']:,} rec/s "
          f"({stats['elapsed']:.1f} s; {wall:.1f} s with process start)", flush=True)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="dblp-acm,bib-dedupe,synthetic,loc200k")
    args = parser.parse_args()
    chosen = set(args.sets.split(","))
    print(f"dedup_eval: {os.cpu_count()} cores, python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "dblp-acm" in chosen:
            (work / "dblp").mkdir()
            dblp_acm(work / "dblp")
        if "bib-dedupe" in chosen:
            for topic in ("cytology_screening", "haematology", "digital_work", "special_cases"):
                (work / topic).mkdir()
                bib_dedupe(work / topic, topic)
        if "synthetic" in chosen:
            (work / "syn").mkdir()
            synthetic(work / "syn")
        if "loc200k" in chosen:
            (work / "loc").mkdir()
            loc200k(work / "loc")


if __name__ == "__main__":
    main()
