"""The kubelets of every simulated node: pod start-up, image pulls, crashes, readiness, termination.

Each pod on a node goes Pending (ContainerCreating) -> Running -> Ready on simulated timers.
Image tags containing "broken" never pull (ErrImagePull <-> ImagePullBackOff), tags containing
"crash" crash-loop with a growing restartCount, images in ``faults.never_ready_images`` run but
never pass readiness. Pods of a Job (restartPolicy Never or OnFailure) exit 0 after
``JOB_RUN_SECONDS`` of running (phase Succeeded). A pod with a deletionTimestamp is removed after
its grace period. Nothing moves on a node whose kubelet is down.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.sim.controllers.base import Controller
from cockpit.sim.controllers.podstatus import StatusBuilder, containers_of
from cockpit.domain.images import image_tag
from cockpit.sim.objects import controller_of, key_of
from cockpit.sim.store import KUBELET

PULL_SECONDS = 1.0
START_SECONDS = 0.5
READY_SECONDS = 2.0
CRASH_AFTER = 2.0
FIRST_PULL_BACKOFF = 1.0
BACKOFF_START, BACKOFF_CAP = 10.0, 300.0
NEVER_READY_RECHECK = 10.0
JOB_RUN_SECONDS = 3.0


@dataclass
class PodRun:
    """What the kubelet remembers about one pod (lost when the kubelet restarts)."""

    uid: str
    stage: str = "new"
    restarts: int = 0
    backoff: float = BACKOFF_START
    terminating: bool = False
    pending_step: str | None = None  # a step that fired while the kubelet was down


def _flavour(pod: dict) -> str:
    tags = [image_tag(c.get("image", "")) for c in containers_of(pod)]
    if any("broken" in t for t in tags):
        return "broken"
    if any("crash" in t for t in tags):
        return "crash"
    return "ok"


class Kubelet(Controller):
    """All kubelets at once: a work queue of pod keys plus per-pod timers."""

    name = "kubelet"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self.runs: dict[str, PodRun] = {}
        self.build = StatusBuilder(cluster)

    def handlers(self):
        """Pods bound to a node, and pod deletions."""
        return {"pods": self._on_pod}

    def _on_pod(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "DELETED":
            self.runs.pop(obj["metadata"].get("uid", ""), None)
            self.cluster.ready_since.pop(obj["metadata"].get("uid", ""), None)
            return
        if not obj["spec"].get("nodeName"):
            return
        if old is None and (obj.get("status") or {}).get("phase") == "Running" and _pod_ready(obj):
            return  # seeded already running: nothing to do until it changes
        if (old is None or not old["spec"].get("nodeName")
                or bool(obj["metadata"].get("deletionTimestamp")) != bool(old["metadata"].get("deletionTimestamp"))):
            self.enqueue(key_of(obj))

    def resync_node(self, node: str) -> None:
        """A kubelet (re)started: resume stalled steps and re-evaluate every pod on the node."""
        for key in list(self.cluster.index.pods_by_node.get(node, ())):
            pod = self.store.get("pods", *key)
            if pod is not None:
                run = self.runs.get(pod["metadata"]["uid"])
                if run is not None and run.pending_step:
                    step, run.pending_step = run.pending_step, None
                    self._schedule(key, run, step, 0.1)
                self.enqueue(key)

    # ------------------------------------------------------------------ sync

    def sync(self, key) -> None:
        """Start, re-ready or terminate one pod."""
        pod = self.store.get("pods", *key)
        if pod is None:
            return
        node = pod["spec"].get("nodeName")
        if not node or not self.cluster.kubelet_up(node):
            return
        uid = pod["metadata"]["uid"]
        run = self.runs.get(uid)
        if pod["metadata"].get("deletionTimestamp"):
            self._terminate(key, pod, run)
        elif run is None:
            if not ((pod.get("status") or {}).get("phase") == "Running" and _pod_ready(pod)):
                self._adopt_or_start(key, pod)
        elif run.stage == "ready" and not _pod_ready(pod):
            self._write(key, "ready", run)  # kubelet came back: it reposts readiness

    def _adopt_or_start(self, key, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        status = pod.get("status") or {}
        if status.get("phase") == "Running" and status.get("containerStatuses"):
            # Seeded (or pre-existing) running pod: adopt it; re-probe only if not Ready.
            ready = _pod_ready(pod)
            run = self.runs[uid] = PodRun(uid, stage="ready" if ready else "started")
            if not ready:
                self._schedule(key, run, "ready", READY_SECONDS)
            return
        run = self.runs[uid] = PodRun(uid, stage="creating")
        self._write(key, "creating", run)
        self._pull_events(pod)
        self._schedule(key, run, "pulled", PULL_SECONDS)

    # ------------------------------------------------------------------ steps

    def _schedule(self, key, run: PodRun, step: str, seconds: float) -> None:
        self.cluster.later(seconds, self._step, key, run, step)

    def _step(self, key, run: PodRun, step: str) -> None:
        if self.runs.get(run.uid) is not run or run.terminating:
            return  # pod gone, kubelet restarted, or terminating
        pod = self.store.get("pods", *key)
        if pod is None or pod["metadata"]["uid"] != run.uid:
            return
        if not self.cluster.kubelet_up(pod["spec"]["nodeName"]):
            run.pending_step = step
            return
        getattr(self, f"_on_{step}")(key, pod, run)

    def _on_pulled(self, key, pod: dict, run: PodRun) -> None:
        flavour = _flavour(pod)
        if flavour == "broken":
            self._write(key, "errimagepull", run)
            for c in containers_of(pod):
                self._event(pod, c, "Warning", "Failed",
                            f'Failed to pull image "{c["image"]}": rpc error: code = NotFound desc = failed to '
                            f'pull and unpack image "{c["image"]}": failed to resolve reference '
                            f'"{c["image"]}": {c["image"]}: not found')
                self._event(pod, c, "Warning", "Failed", "Error: ErrImagePull")
            self._schedule(key, run, "pullbackoff", FIRST_PULL_BACKOFF)
            return
        for c in containers_of(pod):
            if run.restarts:
                self._event(pod, c, "Normal", "Pulled", f'Container image "{c["image"]}" already present on machine')
            else:
                self._event(pod, c, "Normal", "Pulled",
                            f'Successfully pulled image "{c["image"]}" in 1.02s (1.02s including waiting). '
                            f"Image size: 18335624 bytes.")
            self._event(pod, c, "Normal", "Created", f"Created container: {c['name']}")
        self._schedule(key, run, "started", START_SECONDS)

    def _on_pullbackoff(self, key, pod: dict, run: PodRun) -> None:
        self._write(key, "imagepullbackoff", run)
        for c in containers_of(pod):
            self._event(pod, c, "Normal", "BackOff", f'Back-off pulling image "{c["image"]}"')
            self._event(pod, c, "Warning", "Failed", "Error: ImagePullBackOff")
        self._schedule(key, run, "retrypull", run.backoff)
        run.backoff = min(run.backoff * 2, BACKOFF_CAP)

    def _on_retrypull(self, key, pod: dict, run: PodRun) -> None:
        self._pull_events(pod)
        self._schedule(key, run, "pulled", PULL_SECONDS)

    def _on_started(self, key, pod: dict, run: PodRun) -> None:
        self._write(key, "started", run)
        for c in containers_of(pod):
            self._event(pod, c, "Normal", "Started", f"Started container {c['name']}")
        if _flavour(pod) == "crash":
            self._schedule(key, run, "crashed", CRASH_AFTER)
        else:
            self._schedule(key, run, "ready", READY_SECONDS)

    def _on_ready(self, key, pod: dict, run: PodRun) -> None:
        images = {c.get("image") for c in containers_of(pod)}
        if images & self.cluster.faults.never_ready_images:
            for c in containers_of(pod):
                self._event(pod, c, "Warning", "Unhealthy",
                            "Readiness probe failed: HTTP probe failed with statuscode: 503")
            self._schedule(key, run, "ready", NEVER_READY_RECHECK)
            return
        self.cluster.ready_since[run.uid] = self.clock.monotonic()
        self._write(key, "ready", run)
        if _runs_to_completion(pod):
            self._schedule(key, run, "completed", JOB_RUN_SECONDS)

    def _on_completed(self, key, pod: dict, run: PodRun) -> None:
        self.cluster.ready_since.pop(run.uid, None)
        self._write(key, "completed", run)

    def _on_crashed(self, key, pod: dict, run: PodRun) -> None:
        run.restarts += 1
        self._write(key, "crashloop", run)
        for c in containers_of(pod):
            ns, name = key
            self._event(pod, c, "Warning", "BackOff",
                        f"Back-off restarting failed container {c['name']} in pod "
                        f"{name}_{ns}({run.uid})")
        self._schedule(key, run, "restart", run.backoff)
        run.backoff = min(run.backoff * 2, BACKOFF_CAP)

    def _on_restart(self, key, pod: dict, run: PodRun) -> None:
        self._on_pulled(key, pod, run)

    # ------------------------------------------------------------------ termination

    def _terminate(self, key, pod: dict, run: PodRun | None) -> None:
        if run is None:
            run = self.runs[pod["metadata"]["uid"]] = PodRun(pod["metadata"]["uid"])
        if run.terminating:
            return
        run.terminating = True
        for c in containers_of(pod):
            self._event(pod, c, "Normal", "Killing", f"Stopping container {c['name']}")
        self._write(key, "terminating", run)
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
        self.cluster.later(grace, self._remove, key, run.uid)

    def _remove(self, key, uid: str) -> None:
        pod = self.store.get("pods", *key)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        if not self.cluster.kubelet_up(pod["spec"].get("nodeName", "")):
            self.cluster.later(5.0, self._remove, key, uid)  # only a live kubelet confirms deletion
            return
        self.store.remove("pods", *key)

    # ------------------------------------------------------------------ helpers

    def _write(self, key, stage: str, run: PodRun) -> None:
        run.stage = stage
        self.store.mutate("pods", *key, lambda pod: self.build.apply(pod, stage, run.restarts), writer=KUBELET)

    def _pull_events(self, pod: dict) -> None:
        for c in containers_of(pod):
            self._event(pod, c, "Normal", "Pulling", f'Pulling image "{c["image"]}"')

    def _event(self, pod: dict, container: dict, etype: str, reason: str, message: str) -> None:
        self.cluster.events.record(pod, etype, reason, message, "kubelet", host=pod["spec"]["nodeName"],
                                   field_path=f"spec.containers{{{container['name']}}}")


def _runs_to_completion(pod: dict) -> bool:
    """A Job's pod: its containers exit (0) instead of serving forever."""
    ref = controller_of(pod)
    return bool(ref and ref.get("kind") == "Job") and pod["spec"].get("restartPolicy") != "Always"


def _pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())
