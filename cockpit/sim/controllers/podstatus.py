"""Pod status as the kubelet writes it for each lifecycle stage (phase, conditions, containers)."""

from __future__ import annotations

import hashlib

from cockpit.sim.objects import iso, set_condition

WAITING_STAGES = {"creating": "ContainerCreating", "errimagepull": "ErrImagePull",
                  "imagepullbackoff": "ImagePullBackOff", "crashloop": "CrashLoopBackOff"}
PENDING_STAGES = ("creating", "errimagepull", "imagepullbackoff")


def containers_of(pod: dict) -> list[dict]:
    """The pod's (app) containers."""
    return pod["spec"].get("containers") or []


def _image_id(image: str) -> str:
    repo = image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _container_id(uid: str, name: str, restarts: int) -> str:
    return "containerd://" + hashlib.sha256(f"{uid}/{name}/{restarts}".encode()).hexdigest()


class StatusBuilder:
    """Builds the kubelet-owned part of a pod's status."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster

    def apply(self, pod: dict, stage: str, restarts: int) -> None:
        """Rewrite ``pod['status']`` in place for ``stage``."""
        now = iso(self.cluster.clock.now())
        st = pod.setdefault("status", {})
        node = pod["spec"]["nodeName"]
        host_ip = self.cluster.node_ip(node)
        st["hostIP"], st["hostIPs"] = host_ip, [{"ip": host_ip}]
        if "podIP" not in st:
            ip = host_ip if pod["spec"].get("hostNetwork") else self.cluster.alloc_pod_ip(node)
            st["podIP"], st["podIPs"] = ip, [{"ip": ip}]
        st.setdefault("startTime", now)
        if stage == "completed":
            st["phase"] = "Succeeded"
        elif stage != "terminating":
            st["phase"] = "Pending" if stage in PENDING_STAGES else "Running"
        self._conditions(pod, st, stage, now)
        old = {c["name"]: c for c in st.get("containerStatuses") or ()}
        uid = pod["metadata"].get("uid", "")
        ref = f"{pod['metadata'].get('name', '')}_{pod['metadata'].get('namespace', '')}({uid})"
        st["containerStatuses"] = [self._container(c, old.get(c["name"]), stage, restarts, uid, now, ref)
                                   for c in containers_of(pod)]

    def _conditions(self, pod: dict, st: dict, stage: str, now: str) -> None:
        conds = st.setdefault("conditions", [])
        ready = stage == "ready"
        names = ",".join(c["name"] for c in containers_of(pod))
        _set(conds, "PodReadyToStartContainers", stage not in ("creating", "completed"), now)
        _set(conds, "Initialized", True, now)
        for ctype in ("Ready", "ContainersReady"):
            if stage == "completed":
                _set(conds, ctype, False, now, "PodCompleted")
                next(c for c in conds if c["type"] == ctype).pop("message", None)
            else:
                _set(conds, ctype, ready, now, "ContainersNotReady", f"containers with unready status: [{names}]")
        _set(conds, "PodScheduled", True, now)
        order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        conds.sort(key=lambda c: order.index(c["type"]) if c["type"] in order else len(order))

    def _container(self, c: dict, old: dict | None, stage: str, restarts: int, uid: str, now: str,
                   pod_ref: str) -> dict:
        image = c.get("image", "")
        out = {"name": c["name"], "image": image, "imageID": "", "ready": stage == "ready",
               "restartCount": restarts, "started": False, "lastState": {}, "state": {}}
        if old and old.get("lastState"):
            out["lastState"] = old["lastState"]
        if stage in WAITING_STAGES:
            out["state"] = {"waiting": _waiting(stage, c, restarts, pod_ref)}
            if stage == "crashloop":
                out["imageID"] = _image_id(image)
                out["lastState"] = {"terminated": {
                    "exitCode": 1, "reason": "Error", "finishedAt": now,
                    "startedAt": _started_at(old, now),
                    "containerID": _container_id(uid, c["name"], restarts - 1)}}
                out["containerID"] = _container_id(uid, c["name"], restarts - 1)
        elif stage == "completed":
            started = _started_at(old, now)
            out.update(imageID=_image_id(image), containerID=_container_id(uid, c["name"], restarts))
            out["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                           "finishedAt": now, "containerID": out["containerID"]}}
        elif stage == "terminating":
            if old:
                out = {**old, "ready": False}
            else:
                out["state"] = {"waiting": {"reason": "ContainerCreating"}}
        else:
            out.update(imageID=_image_id(image), started=True,
                       containerID=_container_id(uid, c["name"], restarts))
            out["state"] = {"running": {"startedAt": _started_at(old, now, restarts)}}
        return out


def _started_at(old: dict | None, now: str, restarts: int | None = None) -> str:
    running = ((old or {}).get("state") or {}).get("running")
    if running and (restarts is None or old.get("restartCount") == restarts):
        return running.get("startedAt", now)
    return now


def _waiting(stage: str, c: dict, restarts: int, pod_ref: str) -> dict:
    reason = WAITING_STAGES[stage]
    image = c.get("image", "")
    if stage == "errimagepull":
        return {"reason": reason, "message": f'rpc error: code = NotFound desc = failed to pull and unpack '
                f'image "{image}": failed to resolve reference "{image}": {image}: not found'}
    if stage == "imagepullbackoff":
        return {"reason": reason, "message": f'Back-off pulling image "{image}"'}
    if stage == "crashloop":
        delay = min(10 * 2 ** max(restarts - 1, 0), 300)
        delay_text = f"{delay // 60}m{delay % 60}s" if delay >= 60 else f"{delay}s"
        return {"reason": reason,
                "message": f"back-off {delay_text} restarting failed container={c['name']} pod={pod_ref}"}
    return {"reason": reason}


def _set(conds: list[dict], ctype: str, ok: bool, now: str, reason: str = "", message: str = "") -> None:
    new = {"type": ctype, "status": "True" if ok else "False", "lastProbeTime": None}
    if not ok and reason:
        new.update(reason=reason, **({"message": message} if message else {}))
    set_condition(conds, new, now)
    if ok:
        for cond in conds:
            if cond["type"] == ctype:
                cond.pop("reason", None)
                cond.pop("message", None)
