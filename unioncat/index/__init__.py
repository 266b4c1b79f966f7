"""Search index of master records.

Modules: ``analyzers`` (our tokens: folding, CJK bigrams, pinyin), ``fields`` (the
declarative mapping), ``query`` (CQL AST to engine query objects), ``engine``
(tantivy, the default), ``whoosh_engine``, ``build`` (incremental and rebuild),
``search`` (the command line's search with availability).
"""
