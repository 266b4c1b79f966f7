"""Search index of master records (issue 7: not written yet)."""
