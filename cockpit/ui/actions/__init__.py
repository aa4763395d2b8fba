"""The action registry and the actions by family (rollout, traffic, nodes, upgrade)."""
