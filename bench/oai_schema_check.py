#!/usr/bin/env python3
"""Validate the OAI-PMH provider's responses against the official schema files.

    .venv/bin/python bench/oai_schema_check.py XSD_DIR [--config examples/demo/unioncat.toml]

XSD_DIR holds OAI-PMH.xsd and, for the metadata the strict wildcards of that schema demand,
MARC21slim.xsd, oai_dc.xsd (with simpledc20021212.xsd) and oai-identifier.xsd (not vendored:
openarchives.org and loc.gov publish them; FOLIO's mod-oai-pmh keeps copies in ramls/schemas).
An import of http://www.w3.org/...xml.xsd is answered with a local stand-in, this machine being
offline.  Harvests the whole demo catalogue (every page of ListRecords for each format whose
schema is present, every ListIdentifiers page, ListSets, Identify, ListMetadataFormats,
GetRecord, and every error) in-process and prints how many responses were valid.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OAI = "{http://www.openarchives.org/OAI/2.0/}"
XML_XSD = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/XML/1998/namespace">
<xs:attribute name="lang" type="xs:language"/></xs:schema>"""
IMPORTS = {"OAI-PMH.xsd": "http://www.openarchives.org/OAI/2.0/",
           "MARC21slim.xsd": "http://www.loc.gov/MARC21/slim",
           "oai_dc.xsd": "http://www.openarchives.org/OAI/2.0/oai_dc/",
           "oai-identifier.xsd": "http://www.openarchives.org/OAI/2.0/oai-identifier"}


def schema(folder: Path) -> tuple[etree.XMLSchema, list[str]]:
    work = Path(tempfile.mkdtemp(prefix="oai-xsd-"))
    (work / "xml.xsd").write_text(XML_XSD, encoding="utf-8")
    present = []
    for name in [*IMPORTS, "simpledc20021212.xsd"]:
        if (folder / name).exists():
            text = (folder / name).read_text(encoding="utf-8")
            text = text.replace("http://www.w3.org/2001/03/xml.xsd", "xml.xsd")
            (work / name).write_text(text, encoding="utf-8")
            present.append(name)
    if "OAI-PMH.xsd" not in present:
        raise SystemExit(f"{folder}: no OAI-PMH.xsd")
    driver = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
              + "".join(f'<xs:import namespace="{ns}" schemaLocation="{name}"/>' for name, ns in IMPORTS.items()
                        if name in present) + "</xs:schema>")
    (work / "driver.xsd").write_text(driver, encoding="utf-8")
    return etree.XMLSchema(etree.parse(str(work / "driver.xsd"))), present


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("xsd_dir", type=Path)
    ap.add_argument("--config", default=str(ROOT / "examples" / "demo" / "unioncat.toml"))
    args = ap.parse_args()
    check, present = schema(args.xsd_dir)
    from unioncat.config import load_config
    from unioncat.serve import create_app

    app = create_app(load_config(args.config))

    def get(**params: str) -> Any:
        from urllib.parse import urlencode

        seen: list[str] = []
        env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/oai", "QUERY_STRING": urlencode(params),
               "wsgi.url_scheme": "http", "HTTP_HOST": "union.example.org", "wsgi.input": io.BytesIO()}
        return etree.fromstring(b"".join(app(env, lambda status, headers: seen.append(status))))

    def pages(**params: str) -> list[Any]:
        out = [get(**params)]
        while out[-1].findtext(f".//{OAI}resumptionToken"):
            out.append(get(verb=params["verb"], resumptionToken=out[-1].findtext(f".//{OAI}resumptionToken")))
        return out

    formats = ["marc21"] * ("MARC21slim.xsd" in present) + ["oai_dc"] * ("oai_dc.xsd" in present)
    some = get(verb="ListIdentifiers", metadataPrefix="oai_dc").findtext(f".//{OAI}identifier")
    responses = {"Identify": [get(verb="Identify")], "ListMetadataFormats": [get(verb="ListMetadataFormats")],
                 "ListSets": pages(verb="ListSets"), "ListIdentifiers": pages(verb="ListIdentifiers",
                                                                              metadataPrefix="oai_dc"),
                 **{f"ListRecords {p}": pages(verb="ListRecords", metadataPrefix=p) for p in formats},
                 **{f"GetRecord {p}": [get(verb="GetRecord", identifier=some, metadataPrefix=p)] for p in formats},
                 "errors": [get(), get(verb="X"), get(verb="ListRecords"), get(verb="ListRecords", metadataPrefix="x"),
                            get(verb="GetRecord", identifier="oai:x:y", metadataPrefix="oai_dc"),
                            get(verb="ListRecords", metadataPrefix="oai_dc", until="1900-01-01"),
                            get(verb="ListSets", resumptionToken="x")]}
    print(f"schemas: {', '.join(present)}")
    total = valid = 0
    for name, roots in responses.items():
        good = 0
        for root in roots:
            if check.validate(root):
                good += 1
            else:
                print(f"  {name}: {check.error_log.last_error}")
        records = sum(len(r.findall(f".//{OAI}record")) + len(r.findall(f"{OAI}ListIdentifiers/{OAI}header"))
                      for r in roots)
        print(f"{name:24} {good:>4} of {len(roots):>4} responses valid ({records:,} records or headers)")
        total, valid = total + len(roots), valid + good
    print(f"all: {valid} of {total} responses valid")


if __name__ == "__main__":
    main()
