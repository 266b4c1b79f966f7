"""Standard numbers: ISBN (10 and 13, checksums) and ISSN.

Below both deduplication (evidence) and the index (isbn/issn fields and queries).
"""
from __future__ import annotations

import re


def isbn13(raw: str) -> tuple[str | None, bool]:
    """Return (ISBN-13, checksum valid) for an ISBN as catalogued, or (None, False)."""
    text = re.sub(r"[\s-]", "", raw.upper())
    found = re.match(r"(97[89]\d{10}|\d{9}[\dX])", text)
    if not found:
        return None, False
    digits = found.group(1)
    if len(digits) == 10:
        valid = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits)) % 11 == 0
        core = "978" + digits[:9]
    else:
        valid = sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(digits)) % 10 == 0
        core = digits[:12]
    check = (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(core)) % 10) % 10
    return core + str(check), valid


def issn(raw: str) -> str | None:
    """Return a valid ISSN as NNNN-NNNX, or None."""
    text = re.sub(r"[\s-]", "", raw.upper())
    found = re.match(r"(\d{7}[\dX])", text)
    if not found:
        return None
    digits = found.group(1)
    total = sum((8 - i) * int(c) for i, c in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    if ("X" if check == 10 else str(check)) != digits[7]:
        return None
    return f"{digits[:4]}-{digits[4:]}"
