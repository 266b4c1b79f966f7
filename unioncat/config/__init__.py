"""Configuration: settings declared as data, read from TOML into typed dataclasses."""
from __future__ import annotations

from unioncat.config.loader import load_config
from unioncat.config.model import Config, IndexConfig, ServerConfig, SourceConfig, StoreConfig
from unioncat.config.settings import SETTINGS, Setting

__all__ = ["Config", "IndexConfig", "SETTINGS", "ServerConfig", "Setting", "SourceConfig",
           "StoreConfig", "load_config"]
