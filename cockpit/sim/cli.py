"""``cockpit sim``: run the simulated cluster; ``cockpit sim fault``: switch faults while it runs."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from cockpit.errors import ConnectionProblem, UsageError


def register(subparsers, common) -> None:
    """Add ``sim`` (and ``sim fault``) to the CLI."""
    # No global options: they configure the cockpit, not the simulated cluster.
    p = subparsers.add_parser("sim", help="run the simulated Kubernetes cluster")
    p.add_argument("--state-dir", help="directory for kubeconfig, ssh_config and keys (required)")
    p.add_argument("--scenario", default="demo", help="scenario to seed (default: demo)")
    p.add_argument("--nodes", type=int, help="synthetic cluster: number of nodes")
    p.add_argument("--pods-per-node", type=int, help="synthetic cluster: pods per node")
    p.add_argument("--version", default="1.32.4", help="Kubernetes version served (default 1.32.4)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="speed-up factor of simulated time (20 = twenty times faster; default 1, real time)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    p.add_argument("--endpoint-delay", type=float, default=1.0,
                   help="simulated seconds before a selector or readiness change reaches the EndpointSlices "
                        "(the real controller batches updates; default 1, scaled by --speed)")
    p.add_argument("--no-ssh", action="store_true", help="do not start the simulated node SSH servers")
    p.add_argument("--prometheus", action="store_true",
                   help="also run a real Prometheus (the `prometheus` binary) scraping the simulated mesh metrics")
    p.set_defaults(handler=run_sim)
    sub = p.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    f = sub.add_parser("fault", help="show or set a fault on a running simulator")
    f.add_argument("--state-dir", required=True, help="the running simulator's state dir")
    f.add_argument("name", nargs="?", help="fault name (omit to show all)")
    f.add_argument("value", nargs="?", help="JSON or plain value (omit to clear)")
    f.set_defaults(handler=run_fault)


def run_sim(args) -> int:
    """Handler of ``cockpit sim``."""
    from cockpit.sim.main import run
    from cockpit.sim.runner import SimOptions
    if not args.state_dir:
        raise UsageError("cockpit sim needs --state-dir DIR")
    if args.speed <= 0:
        raise UsageError("--speed must be greater than 0")
    if args.endpoint_delay < 0:
        raise UsageError("--endpoint-delay must not be negative")
    return run(SimOptions(args.state_dir, args.scenario, args.speed, args.nodes, args.pods_per_node,
                          args.version, not args.no_ssh, args.port, prometheus=args.prometheus,
                          endpoint_delay=args.endpoint_delay))


def _server_of(state_dir: str) -> tuple[str, str]:
    path = Path(state_dir) / "kubeconfig"
    try:
        import yaml
        config = yaml.safe_load(path.read_text())
        return config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"]
    except (OSError, KeyError, IndexError, TypeError) as exc:
        raise UsageError(f"no simulator kubeconfig in {state_dir} ({exc}); is `cockpit sim` running?") from None


def _parse_value(text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run_fault(args) -> int:
    """Handler of ``cockpit sim fault``: POST (or GET) /_sim/faults and print the faults."""
    url, token = _server_of(args.state_dir)
    data = None
    if args.name:
        data = json.dumps({"name": args.name, "value": _parse_value(args.value)}).encode()
    request = urllib.request.Request(f"{url}/_sim/faults", data=data, method="POST" if data else "GET",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    ca = Path(args.state_dir) / "tls.crt"
    context = ssl.create_default_context(cafile=str(ca)) if ca.exists() else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:
            print(json.dumps(json.loads(resp.read()), indent=2, sort_keys=True))
    except urllib.error.HTTPError as exc:
        message = json.loads(exc.read() or b"{}").get("message", str(exc))
        raise UsageError(f"the simulator refused: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectionProblem(f"cannot reach the simulator at {url}: {exc}") from None
    return 0
