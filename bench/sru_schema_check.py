#!/usr/bin/env python3
"""Validate the SRU server's responses against the OASIS SRU 2.0 XML schemas.

    .venv/bin/python bench/sru_schema_check.py XSD_DIR [--config examples/demo/unioncat.toml]

XSD_DIR holds sruResponse.xsd (and what it imports) and explain.xsd: the OASIS
searchRetrieve 1.0 schemas as Index Data's github.com/indexdata/sru-schemas fixes them
for libxml2 (not vendored here).  Runs explain, searchRetrieve in every record schema and
packing, paging with sortKeys and a stylesheet, diagnostics, scan, a bad operation and a
bad version, in SRU 2.0, checks every ZeeRex record against explain.xsd, then the same
requests in 1.1 and 1.2 with their namespaces mapped onto 2.0's (the 2.0 schema keeps
the 1.x slots for version and resultSetIdleTime; the LoC 1.x schemas are not available
here).  Prints one line per invalid response and the totals; exit 1 if any was invalid.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.wsgi import call  # noqa: E402
from unioncat.config import load_config  # noqa: E402
from unioncat.sru_server import create_app  # noqa: E402

ZEEREX = "{http://explain.z3950.org/dtd/2.0/}explain"
MAP = {"http://www.loc.gov/zing/srw/": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
       "http://www.loc.gov/zing/srw/diagnostic/": "http://docs.oasis-open.org/ns/search-ws/diagnostic"}


def cases() -> list[dict[str, str]]:
    out: list[dict[str, str]] = [{"operation": "explain"}, {}]
    for schema in ("marcxml", "dc", "mods", "opacxml", "isohold"):
        for escaping in ("xml", "string"):
            out.append({"query": "dc.title=lian", "recordSchema": schema, "recordXMLEscaping": escaping,
                        "maximumRecords": "3"})
    out += [{"query": "cql.allRecords=1", "startRecord": "5", "maximumRecords": "2", "stylesheet": "/a.xsl",
             "sortKeys": "dc.date,,0"}, {"query": "((("}, {"query": "a", "recordSchema": "nonsense"},
            {"operation": "scan", "scanClause": "dc.title=lian"}, {"operation": "scan", "scanClause": "dc.foo=x"},
            {"operation": "bogus"}, {"version": "3.0"}, {"query": "nomatchatallzzz"},
            {"query": "dc.subject=history", "facetLimit": "5:bath.possessingInstitution,3:dc.date,2"}]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("xsd_dir", type=Path)
    ap.add_argument("--config", default=str(ROOT / "examples" / "demo" / "unioncat.toml"))
    args = ap.parse_args()
    response = etree.XMLSchema(etree.parse(str(args.xsd_dir / "sruResponse.xsd")))
    zeerex = etree.XMLSchema(etree.parse(str(args.xsd_dir / "explain.xsd")))
    app = create_app(load_config(args.config))
    totals = {}
    for version in ("2.0", "1.2", "1.1"):
        checked = invalid = 0
        for case in cases():
            params = {"version": version, **case}
            if version != "2.0":
                params.pop("recordXMLEscaping", None)
                if version == "1.2":
                    params.pop("sortKeys", None)
            doc = etree.fromstring(call(app, params).body)
            for explain in doc.iter(ZEEREX):
                if not zeerex.validate(etree.ElementTree(explain)):
                    invalid += 1
                    print(f"INVALID ZeeRex {version} {params}: {zeerex.error_log.last_error}")
            if version != "2.0":
                if doc.tag.endswith("scanResponse"):
                    continue  # 1.x scan lives in the srw namespace, 2.0's in its own: no proxy
                for el in doc.iter():
                    name = etree.QName(el)
                    if name.namespace in MAP:
                        el.tag = f"{{{MAP[name.namespace]}}}{name.localname}"
                doc = etree.fromstring(etree.tostring(doc))
            checked += 1
            if not response.validate(doc):
                invalid += 1
                print(f"INVALID {version} {params}: {response.error_log.last_error}")
        totals[version] = (checked, invalid)
    for version, (checked, invalid) in totals.items():
        print(f"SRU {version}: {checked} responses checked, {invalid} invalid")
    sys.exit(1 if any(invalid for _, invalid in totals.values()) else 0)


if __name__ == "__main__":
    main()
