"""Holdings and availability: items extracted from members' records by preset or table,
status feeds, live refresh, and "where can I borrow it" views.

Kept out of the search index on purpose: a loan changes a row here, never an index.
Modules: ``status`` (the nine statuses and code maps), ``extract`` (presets),
``itemstore`` (items and availability in the record store), ``feeds`` (status feed
loading), ``view`` (holdings per member), ``live`` (refresh from members' servers).
"""
