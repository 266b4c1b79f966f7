"""Deduplication of member records into consortium master records (issue 6: not written yet)."""
