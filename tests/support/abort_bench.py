"""Abort latency of a gated shift: ``python -m tests.support.abort_bench [--intervals 1,2,5] [--runs 3]``.

Against the simulator and a real Prometheus (scraping every second): a shift of ``shop/api``
holds its first step (25%) for a long pause gated by ``success-rate``; once the first
measurement has passed, half of the canary's requests start failing (a pod annotation), and the
bench times how long until the route sends nothing to the canary any more. The floor is the
scrape interval (the errors must be scraped) plus up to one analysis interval (the next
measurement), plus the query and the write.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from cockpit.cli.main import main as cli_main
from cockpit.journal import read_journal
from cockpit.sim.runner import SimThread
from cockpit.sim.traffic_behaviour import ERROR_RATIO
from tests.support.prometheus import instant, wait_for_series
from tests.support.wait import wait_until

SELECTOR = 'reporter="destination",destination_service_namespace="{{namespace}}",destination_service_name="{{backend}}"'
CONFIG = """[analysis.success-rate]
query = '(sum(rate(istio_requests_total{%s,response_code!~"5.."}[5s])) or vector(0)) / sum(rate(istio_requests_total{%s}[5s]))'
success_condition = "result >= 0.99"
interval = "%gs"
"""


CLEAN = 'sum(rate(istio_requests_total{destination_service_name="api-canary",response_code=~"5.."}[5s])) or vector(0)'


def set_canary(sim: SimThread, weight: int, error_ratio: str) -> None:
    """Route weights and the canary pods' error ratio, as the bench needs them."""
    def apply() -> None:
        sim.store.mutate("httproutes", "shop", "api", lambda o: _weights(o, 100 - weight, weight))
        for pod in sim.store.list("pods", "shop"):
            if pod["metadata"]["name"].startswith("api-canary-"):
                sim.store.mutate("pods", "shop", pod["metadata"]["name"],
                                 lambda o: o["metadata"].setdefault("annotations", {}).update({ERROR_RATIO: error_ratio}))
    sim.call(apply)


def _weights(route: dict, stable: int, canary: int) -> None:
    refs = route["spec"]["rules"][0]["backendRefs"]
    refs[0]["weight"], refs[1]["weight"] = stable, canary


def canary_weight(sim: SimThread) -> int:
    """The canary's weight on the route now."""
    return sim.call(lambda: sim.store.get("httproutes", "shop", "api")["spec"]["rules"][0]["backendRefs"][1]["weight"])


def one_run(sim: SimThread, interval: float, workdir: Path) -> float:
    """Seconds from the canary starting to fail to no traffic on it."""
    config, journal = workdir / f"config-{interval:g}.toml", workdir / f"journal-{time.monotonic_ns()}.jsonl"
    config.write_text(CONFIG % (SELECTOR, SELECTOR, interval))
    os.environ["COCKPIT_CONFIG"] = str(config)
    set_canary(sim, 10, "0")
    wait_until(lambda: instant(sim.prometheus_url, CLEAN).values, 60, "the last run's errors out of the window",
               accept=lambda values: values and values[0] == 0)
    argv = ["shift", "shop/api", "--step", "--plan", "25,100", "--pause", "120", "--analysis", "success-rate",
            "--prometheus-url", sim.prometheus_url, "--kubeconfig", sim.kubeconfig, "--journal", str(journal),
            "--yes", "--json"]
    shift = threading.Thread(target=quietly, args=(argv,), daemon=True)
    shift.start()
    wait_until(lambda: any(e["event"] == "analysis" and e["phase"] == "successful" for e in read_journal(journal)),
               60, "a first successful measurement")
    failing_since = time.monotonic()
    set_canary_pods_failing(sim)
    wait_until(lambda: canary_weight(sim) == 0, 120, "the abort", interval=0.01)
    latency = time.monotonic() - failing_since
    shift.join(30)
    return latency


def quietly(argv: list[str]) -> None:
    """``cockpit`` with its plan and progress kept off the bench's output."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        cli_main(argv)


def set_canary_pods_failing(sim: SimThread) -> None:
    """Half of the canary's answers become 500s from now on."""
    def apply() -> None:
        for pod in sim.store.list("pods", "shop"):
            if pod["metadata"]["name"].startswith("api-canary-"):
                sim.store.mutate("pods", "shop", pod["metadata"]["name"],
                                 lambda o: o["metadata"].setdefault("annotations", {}).update({ERROR_RATIO: "0.5"}))
    sim.call(apply)


def main() -> None:
    """Run the bench and print one line per analysis interval."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", default="1,2,5", help="analysis intervals in seconds")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SimThread(Path(tmp) / "sim", speed=20, prometheus=True) as sim:
        wait_for_series(sim.prometheus_url, 'rate(istio_requests_total{destination_service_name="api-canary"}[5s])')
        print("analysis interval | scrape interval | canary failing -> no canary traffic (min / median / max)")
        for interval in (float(x) for x in options.intervals.split(",")):
            runs = [one_run(sim, interval, Path(tmp)) for _ in range(options.runs)]
            print(f"{interval:g} s | 1 s | {min(runs):.2f} / {statistics.median(runs):.2f} / {max(runs):.2f} s",
                  flush=True)


if __name__ == "__main__":
    main()
