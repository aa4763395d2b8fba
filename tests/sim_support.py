"""Moved to tests.support.minimal_cluster; kept for the one importer under tests/sim/ until it
imports from there."""

from tests.support.minimal_cluster import MinimalCluster

__all__ = ["MinimalCluster"]
