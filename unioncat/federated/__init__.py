"""Federated live search of targets that are not harvested, merged with the union catalogue."""
