#!/usr/bin/env python3
"""Recall of pinyin queries on Chinese records: typed as Chinese readers type them.

    .venv/bin/python bench/pinyin_recall.py [--records 10000] [--sample 400]

Takes the LoC records of a CJK-rich chunk (060001-070000), keeps those whose title (245
$a) or main entry (100 $a) has a Chinese form in an 880, imports them as one member,
runs dedup and index, and asks the index, for up to --sample titles and names, the
pinyin of the Chinese (pypinyin's reading in context) in five forms:

* unspaced:  zhongguofazhanbaogao       (the whole title or name, no spaces)
* spaced:    "zhong guo fa zhan bao gao" (a syllable at a time)
* mixed:     "zhongguo fazhan baogao"   (two syllables a word)
* prefix:    zhongguofa                 (the first half of the syllables, at least two)
* name:      jinyong / "jin yong"       (main entries, unspaced and spaced)

A query finds its record when the record's master is among the hits (up to 2,000).
Prints recall per form and in all, with the misses' first examples.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from index_bench import unioncat  # noqa: E402
from unioncat.cql import parse  # noqa: E402
from unioncat.index.engine import open_engine  # noqa: E402
from unioncat.marc.fields import all_fields  # noqa: E402
from unioncat.marc.reader import MarcFile, MarcItem  # noqa: E402

CHUNK = ROOT.parent / "shared" / "data" / "loc-booksall-2016" / "BooksAll.2016.part01.recs060001-070000.mrc.gz"
HAN = re.compile(r"[\u3400-\u9fff]+")


def chinese_of(fields: list, tag: str) -> str:  # type: ignore[type-arg]
    """Return the longest run of Han characters of the 880 linked to tag, $a."""
    for f_tag, _, subs in fields:
        if f_tag != "880" or isinstance(subs, str):
            continue
        link = next((v for c, v in subs if c == "6"), "")
        if link.startswith(tag):
            text = " ".join(v for c, v in subs if c == "a")
            runs = HAN.findall(text)
            return max(runs, key=len) if runs else ""
    return ""


def main() -> None:
    from pypinyin import Style, lazy_pinyin

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--sample", type=int, default=400)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pinyin-recall-"))
    kept: list[bytes] = []
    cases: list[tuple[str, str, str]] = []  # (record id, form, query)
    for n, item in enumerate(MarcFile(str(CHUNK)).items()):
        if n >= args.records:
            break
        if not isinstance(item, MarcItem):
            continue
        fields = all_fields(item.raw, item.syntax, item.charset)[1]
        control = next((v for t, _, v in fields if t == "001"), "")
        title, name = chinese_of(fields, "245"), chinese_of(fields, "100")
        if not (control and (len(title) >= 2 or len(name) >= 2)):
            continue
        kept.append(item.raw)
        rid = f"ZH.{str(control).strip()}"
        if len(title) >= 2:
            syl = lazy_pinyin(title, style=Style.NORMAL, errors="ignore")
            cases += [(rid, "unspaced", "".join(syl)), (rid, "spaced", '"' + " ".join(syl) + '"'),
                      (rid, "mixed", '"' + " ".join("".join(syl[i:i + 2]) for i in range(0, len(syl), 2)) + '"')]
            if len(syl) >= 3:
                cases.append((rid, "prefix", "".join(syl[:max(2, len(syl) // 2)])))
        if len(name) >= 2:
            syl = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
            cases += [(rid, "name", "".join(syl)), (rid, "name", '"' + " ".join(syl) + '"')]
    (work / "zh.mrc").write_bytes(b"".join(kept))
    cfg = work / "unioncat.toml"
    cfg.write_text(f'[store]\npath = "{work}/store.db"\n[index]\npath = "{work}/index"\n'
                   f'[[source]]\nid = "ZH"\nname = "Chinese"\ntype = "file"\npath = "{work}/zh.mrc"\n',
                   encoding="utf-8")
    unioncat(cfg, "run")
    engine = open_engine("tantivy", str(work / "index"), create=False)
    records = sorted({c[0] for c in cases})
    random.Random(11).shuffle(records)
    chosen = set(records[:args.sample])
    found: dict[str, list[int]] = {}
    misses: dict[str, list[str]] = {}
    for rid, form, query in cases:
        if rid not in chosen:
            continue
        hits = engine.search(parse(query), limit=2000)
        ok = any(rid in d.get("members", []) for d in hits.displays)
        found.setdefault(form, []).append(int(ok))
        if not ok:
            misses.setdefault(form, []).append(query)
    print(f"{len(kept):,} records with a Chinese title or name of the first {args.records:,} in {CHUNK.name}; "
          f"{len(chosen):,} sampled")
    print("| form | queries | found | recall |\n|---|---|---|---|")
    total = [v for values in found.values() for v in values]
    for form in ("unspaced", "spaced", "mixed", "prefix", "name"):
        values = found.get(form, [])
        if values:
            print(f"| {form} | {len(values):,} | {sum(values):,} | {sum(values) / len(values):.1%} |")
    print(f"| all | {len(total):,} | {sum(total):,} | {sum(total) / len(total):.1%} |")
    for form, queries in misses.items():
        print(f"  missed ({form}): {', '.join(queries[:5])}")


if __name__ == "__main__":
    main()
