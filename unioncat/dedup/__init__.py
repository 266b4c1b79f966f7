"""Deduplication of member records into consortium master records.

Modules: ``normalize`` (folding, identifiers, numbers, editions), ``fields`` (the
declarative MARC 21 and UNIMARC/CNMARC mapping), ``keys`` (blocking), ``match`` (the
comparator), ``engine`` (runs, clustering), ``review`` (explain, manual splits and merges),
``clusters`` (export, show, master records).
"""
