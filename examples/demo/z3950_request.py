"""Ask a Z39.50 target (waiting up to 10 s for it) and print the OPAC records' holdings.

    python z3950_request.py HOST:PORT/DATABASE 'PQF query' [how many]
"""
from __future__ import annotations

import sys
import time

from unioncat.errors import UnioncatError
from unioncat.marc.reader import item_from_iso2709
from unioncat.z3950.client import Z3950Client
from unioncat.z3950.pqf import parse_pqf

address, query = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 3
host_port, _, database = address.partition("/")
host, _, port = host_port.rpartition(":")
for _ in range(100):
    try:
        client = Z3950Client(host, int(port), timeout=10)
        client.connect()
        break
    except UnioncatError:
        time.sleep(0.1)
else:
    sys.exit(f"no answer from {address}")
with client:
    hits = client.search(database or "Default", parse_pqf(query))
    print(f"{query}: {hits} hits at {client.target}")
    for rec in client.present(1, min(count, hits), "opac") if hits else []:
        if rec.opac is None:
            print(f"  {rec.position}: {rec.diagnostic}")
            continue
        bib = item_from_iso2709(bytes(rec.opac["bibliographicRecord"]["encoding"][1]), rec.position, "marc21", "auto")
        print(f"  {rec.position}: {bib.control_number}")
        for kind, holding in rec.opac.get("holdingsData", []):
            for circ in holding.get("circulationData", []):
                state = "on the shelf" if circ["availableNow"] else circ.get("restrictions", "not on the shelf")
                print(f"     {holding.get('nucCode', ''):5} {holding.get('localLocation', ''):10} "
                      f"{holding.get('callNumber', ''):20} {circ.get('itemId', ''):14} {state}")
