"""The OAI-PMH 2.0 provider of the master records (``app.OAIApp``): a face over
:mod:`unioncat.serving`, served by ``unioncat serve`` at ``oai.base_path``."""
from unioncat.oai_server.app import OAIApp, create_app

__all__ = ["OAIApp", "create_app"]
