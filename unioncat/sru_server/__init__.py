"""The SRU face: explain, searchRetrieve and scan over SRU 1.1, 1.2 and 2.0.

``create_app(config)`` returns a plain WSGI application (``app.py``; ``app.wsgi_app()`` for
gunicorn; ``unioncat serve`` runs it under waitress, :mod:`unioncat.serve`).  ``protocol.py``
checks parameters and builds the envelopes of each version, ``explain.py`` the ZeeRex record.
Records, holdings, search and diagnostics come from the serving layer, :mod:`unioncat.serving`.
"""
from unioncat.sru_server.app import SRUApp, create_app

__all__ = ["SRUApp", "create_app"]
