"""``cockpit bench``: the simulated cluster at scale, the real app headless against it, and
the figures (load, paint, memory, lag, key latency, drain, switch) that prove the cockpit keeps up.

The harness wires every layer (sim, kube, controllers, ui) together, which is why it lives
under cli, the one layer allowed to import all of them.
"""
