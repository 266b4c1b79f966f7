"""The SRU server: explain, searchRetrieve and scan over SRU 1.1, 1.2 and 2.0.

``create_app(config)`` returns a plain WSGI application (``app.py``); ``serve.py``
runs it under waitress (``unioncat serve``) or gunicorn.  ``protocol.py`` checks
parameters and builds the envelopes of each version, ``records.py`` the record
schemas with holdings and availability, ``explain.py`` the ZeeRex record and
``resources.py`` what the worker threads share.
"""
from unioncat.sru_server.app import SRUApp, create_app

__all__ = ["SRUApp", "create_app"]
