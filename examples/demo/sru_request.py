"""Fetch one SRU URL (waiting up to 10 s for the server to start) and print it indented."""
from __future__ import annotations

import sys
import time
import urllib.request

from lxml import etree

for _ in range(100):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=10) as resp:
            body = resp.read()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(f"no answer from {sys.argv[1]}")
print(etree.tostring(etree.fromstring(body), pretty_print=True, encoding="unicode"))
