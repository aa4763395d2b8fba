"""Job controller: runs a Job's pods to completion and reports its status and conditions.

Keeps ``min(parallelism, completions - succeeded)`` pods active; the kubelet lets a Job's pods exit
0 after a while. ``completions`` successes make the Job Complete (SuccessCriteriaMet, then
Complete), more than ``backoffLimit`` failures make it Failed (BackoffLimitExceeded).
"""

from __future__ import annotations

from cockpit.sim.controllers.base import Controller
from cockpit.sim.controllers.replicaset import create_pod, pod_from_template
from cockpit.sim.objects import controller_of, iso, key_of, pod_is_active, pod_is_ready


class JobController(Controller):
    """Creates the pods of every unfinished Job and writes its status."""

    name = "job-controller"

    def handlers(self):
        """Jobs and the pods they own."""
        return {"jobs": self._on_job, "pods": self._on_pod}

    def _on_job(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype != "DELETED" and (old is None or old.get("spec") != obj.get("spec")):
            self.enqueue(key_of(obj))

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        ref = controller_of(obj)
        if ref and ref.get("kind") == "Job":
            self.enqueue((obj["metadata"]["namespace"], ref["name"]))

    def sync(self, key) -> None:
        """Create missing pods and refresh the status of one Job."""
        job = self.store.get("jobs", *key)
        if job is None or job["metadata"].get("deletionTimestamp") or _finished(job):
            return
        spec = job["spec"]
        pods = self.cluster.owned_pods(job["metadata"]["uid"])
        active = [p for p in pods if pod_is_active(p)]
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p.get("status", {}).get("phase") == "Failed")
        outcome = None
        if failed > int(spec.get("backoffLimit", 6)):
            outcome = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            for pod in active:
                self.cluster.delete_pod(pod)
            active = []
        elif succeeded >= int(spec.get("completions", 1)):
            outcome = ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")
        elif not spec.get("suspend"):
            want = min(int(spec.get("parallelism", 1)), int(spec.get("completions", 1)) - succeeded)
            for _ in range(want - len(active)):
                made = create_pod(self.cluster, job, pod_from_template(job, spec["template"]), self.name)
                if made is not None:
                    active.append(made)
        self._write(job, active, succeeded, failed, outcome)

    def _write(self, job: dict, active: list[dict], succeeded: int, failed: int, outcome) -> None:
        now = iso(self.clock.now())
        ready = sum(1 for p in active if pod_is_ready(p))

        def apply(obj: dict) -> None:
            status = obj.setdefault("status", {})
            status.setdefault("startTime", now)
            status.update(ready=ready, terminating=0, uncountedTerminatedPods={})
            for field, value in (("active", len(active)), ("succeeded", succeeded), ("failed", failed)):
                if value:
                    status[field] = value
                else:
                    status.pop(field, None)
            if outcome is not None:
                self._finish(obj, status, outcome, now)
        self.store.mutate("jobs", *key_of(job), apply)

    def _finish(self, job: dict, status: dict, outcome: tuple[str, str, str], now: str) -> None:
        ctype, reason, message = outcome
        first = "SuccessCriteriaMet" if ctype == "Complete" else "FailureTarget"
        status["conditions"] = [_condition(first, reason, message, now), _condition(ctype, reason, message, now)]
        if ctype == "Complete":
            status["completionTime"] = now
        self.cluster.events.record(job, "Normal" if ctype == "Complete" else "Warning",
                                   "Completed" if ctype == "Complete" else reason,
                                   "Job completed" if ctype == "Complete" else message, self.name)


def _condition(ctype: str, reason: str, message: str, now: str) -> dict:
    return {"type": ctype, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason,
            "message": message}


def _finished(job: dict) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or ())
