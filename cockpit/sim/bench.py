"""Scale benchmark: ``python -m cockpit.sim.bench [--nodes 5000] [--pods-per-node 30] [--store-only]``.

Prints start-up time, a full paged ``kubectl get pods -A -o name`` (fresh cache), watch
throughput (events/s delivered to cluster-wide pod watchers while the store commits status
changes as fast as it can) and the process RSS. ``--store-only`` seeds nodes and pods straight
into the store instead of running the synthetic scenario's controllers (isolates the API server).
"""

from __future__ import annotations

import argparse
import json
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

from cockpit.sim.runner import SimThread


def rss_mb() -> float:
    """Resident set size of this process in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class StoreOnlyCluster:
    """Seeds N nodes with M running pods each directly into the store (no controllers)."""

    version = "1.32.4"

    def __init__(self, nodes: int, pods_per_node: int):
        self.nodes, self.pods_per_node = nodes, pods_per_node

    def __call__(self, store, clock, faults):
        self.store = store
        return self

    async def start(self) -> None:
        """Create the namespaces, nodes and pods."""
        s = self.store
        for ns in ("default", "kube-system", "bench"):
            s.create("namespaces", {"metadata": {"name": ns}})
        for n in range(self.nodes):
            node = f"node-{n:05d}"
            s.create("nodes", {"metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}},
                               "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
            for p in range(self.pods_per_node):
                s.create("pods", _pod(f"app-{n:05d}-{p:03d}", node, f"10.{n // 250}.{n % 250}.{p + 2}"))

    async def stop(self) -> None:
        """Nothing runs."""


def _pod(name: str, node: str, ip: str) -> dict:
    return {"metadata": {"name": name, "namespace": "bench", "labels": {"app": name[:9], "tier": "bench"}},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.example/app:1.0",
                                                       "ports": [{"containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "hostIP": ip,
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "image": "registry.example/app:1.0", "imageID": "",
                                              "ready": True, "restartCount": 0, "started": True,
                                              "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}}


def time_kubectl_list(sim: SimThread) -> tuple[float, int]:
    """Seconds and line count of a fresh-cache ``kubectl get pods -A -o name``."""
    cache = tempfile.mkdtemp(prefix="bench-kcache-")
    try:
        started = time.monotonic()
        out = subprocess.run(["kubectl", "--kubeconfig", sim.kubeconfig, "--cache-dir", cache, "get", "pods", "-A",
                              "-o", "name"], capture_output=True, text=True, timeout=900)
        return time.monotonic() - started, len(out.stdout.splitlines())
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def time_raw_pages(sim: SimThread, limit: int = 500) -> tuple[float, int]:
    """Seconds to fetch every page of /api/v1/pods (bytes only, no decoding) and the page count."""
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    started, pages, token = time.monotonic(), 0, ""
    while True:
        query = f"limit={limit}" + (f"&continue={token}" if token else "")
        req = urllib.request.Request(f"{sim.url}/api/v1/pods?{query}",
                                     headers={"Authorization": f"Bearer {sim.token}"})
        with urllib.request.urlopen(req, context=ctx, timeout=60) as resp:
            body = resp.read()
        pages += 1
        tail = body[:400]  # the list metadata (with the continue token) comes first
        marker = tail.find(b'"continue":"')
        if marker < 0:
            return time.monotonic() - started, pages
        token = tail[marker + 12:tail.index(b'"', marker + 12)].decode()


def _watch(sim: SimThread, want: int, done: list, ready: threading.Event) -> None:
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    rv = sim.call(lambda: sim.store.rv)
    req = urllib.request.Request(f"{sim.url}/api/v1/pods?watch=true&resourceVersion={rv}",
                                 headers={"Authorization": f"Bearer {sim.token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=600) as resp:
        ready.set()
        count = 0
        for line in resp:
            if json.loads(line)["type"] == "MODIFIED":
                count += 1
                if count >= want:
                    done.append(time.monotonic())
                    return


def watch_throughput(sim: SimThread, events: int, watchers: int) -> float:
    """Events/s seen by the slowest of ``watchers`` cluster-wide pod watches."""
    names = sim.call(lambda: [(p["metadata"]["namespace"], p["metadata"]["name"])
                              for p in sim.store.list("pods")[:events]])
    done: list[float] = []
    threads = []
    for _ in range(watchers):
        ready = threading.Event()
        t = threading.Thread(target=_watch, args=(sim, len(names), done, ready), daemon=True)
        t.start()
        ready.wait(30)
        threads.append(t)

    def churn():
        for i, (ns, name) in enumerate(names):
            sim.store.mutate("pods", ns, name, lambda o, i=i: o["metadata"].setdefault(
                "annotations", {}).__setitem__("bench/tick", str(i)))
    started = time.monotonic()
    sim.call(churn)
    for t in threads:
        t.join(600)
    return len(names) / (max(done) - started) if len(done) == watchers else 0.0


def main(argv=None) -> int:
    """Run the benchmark and print one line per figure."""
    parser = argparse.ArgumentParser(prog="python -m cockpit.sim.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--store-only", action="store_true", help="seed the store directly (no controllers)")
    parser.add_argument("--events", type=int, default=20000, help="status changes for the watch test")
    parser.add_argument("--watchers", type=int, default=3)
    args = parser.parse_args(argv)
    factory = StoreOnlyCluster(args.nodes, args.pods_per_node) if args.store_only else None
    state = tempfile.mkdtemp(prefix="bench-sim-")
    started = time.monotonic()
    with SimThread(state, nodes=args.nodes, pods_per_node=args.pods_per_node, speed=1.0,
                   cluster_factory=factory) as sim:
        pods = sim.call(sim.store.count, "pods")
        print(f"start-up: {time.monotonic() - started:.1f} s for {args.nodes} nodes / {pods} pods", flush=True)
        print(f"rss after start-up: {rss_mb():.0f} MiB", flush=True)
        seconds, pages = time_raw_pages(sim)
        print(f"paged list over HTTPS (500/page, bytes only): {seconds:.1f} s for {pages} pages", flush=True)
        seconds, lines = time_kubectl_list(sim)
        print(f"kubectl get pods -A -o name: {seconds:.1f} s, {lines} lines", flush=True)
        rate = watch_throughput(sim, min(args.events, pods), args.watchers)
        print(f"watch: {rate:.0f} events/s delivered to each of {args.watchers} cluster-wide watchers", flush=True)
        print(f"rss at end: {rss_mb():.0f} MiB", flush=True)
    shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
