"""Prometheus: the HTTP API client and the metrics part of cockpit's config (no decisions)."""
