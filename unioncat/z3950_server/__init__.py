"""The Z39.50 face over the union index (``unioncat serve --z3950-port N``).

``session.py`` answers one association's PDUs, ``server.py`` is the threaded TCP side.  Type-1
queries are read into the shared CQL tree by :mod:`unioncat.serving.rpn`; records, holdings and
diagnostics come from the serving layer, :mod:`unioncat.serving`.  BER comes from the official
ASN.1 through :mod:`unioncat.z3950.codec`, shared with the harvester.
"""
