"""SRU server over the union index (issue 8: not written yet)."""
