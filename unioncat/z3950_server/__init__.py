"""The Z39.50 target over the union index (``unioncat serve --z3950-port N``).

``rpn.py`` turns type-1 queries with BIB-1 attributes into the CQL tree the SRU face
searches with, ``session.py`` answers one association's PDUs (records shared with the
SRU server, holdings joined per Present), ``server.py`` is the threaded TCP side.
BER comes from the official ASN.1 through :mod:`unioncat.z3950.codec`, shared with
the harvester.
"""
