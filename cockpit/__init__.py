"""cockpit: a terminal cockpit for Kubernetes operations."""
