"""`cockpit bench` end to end at the quick size: it runs and prints every figure as JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

QUICK = ["--nodes", "50", "--pods", "1500", "--duration", "3"]  # every phase, in about 40 s


def test_quick_bench_prints_every_figure():
    out = subprocess.run([sys.executable, "-m", "cockpit", "bench", *QUICK, "--json"],
                         capture_output=True, text=True, timeout=880, check=True)
    summary = json.loads(out.stdout)

    assert summary["config"]["pods"] == 1500
    assert {"cpus", "load_before", "load_after"} <= set(summary["machine"])
    app = summary["cockpit"]
    assert {"full_state_s", "first_paint_full_s", "peak_rss_mib", "churn", "keys"} <= set(app)
    assert {"load", "rest", "churn"} <= set(app["rss_peak_by_phase_mib"])
    assert app["objects"]["nodes"] == 50 and app["objects"]["pods"] == 1500
    churn = app["churn"]
    assert {"events_applied_per_s", "rss_start_mib", "rss_end_mib", "lag"} <= set(churn)
    assert churn["events_applied_per_s"] > 0 and churn["lag"]["count"] > 0
    assert {"p50_ms", "p99_ms"} <= set(churn["lag"])
    assert {"load", "churn"} <= set(app["keys"])
    assert {"rollouts", "nodes", "events"} <= set(app["keys"]["churn"])
    assert "kubectl" in summary
    assert summary["drain"]["cockpit_ok"] and summary["drain"]["pods_on_node"] == 110
    assert summary["switch"]["ok"] and summary["switch"]["confirm_to_verified_s"] > 0
