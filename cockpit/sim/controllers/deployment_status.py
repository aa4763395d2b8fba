"""Deployment status and conditions, computed the way the real deployment controller does.

``kubectl rollout status`` reads observedGeneration, replicas, updatedReplicas and
availableReplicas and the Progressing condition's reason; the cockpit reads the rest.
"""

from __future__ import annotations

from cockpit.sim.objects import int_or_percent, iso, key_of

AVAILABLE_OK = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
AVAILABLE_LOW = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")


def _fenceposts(d: dict) -> tuple[int, int]:
    strategy = d["spec"].get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, 0
    ru = strategy.get("rollingUpdate") or {}
    desired = int(d["spec"].get("replicas", 1))
    surge = int_or_percent(ru.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = int_or_percent(ru.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # the API forbids both zero; the controller uses 1 to make progress
    return surge, unavailable


def max_surge(d: dict) -> int:
    """Resolved maxSurge (percentages round up)."""
    return _fenceposts(d)[0]


def max_unavailable(d: dict) -> int:
    """Resolved maxUnavailable (percentages round down), capped at spec.replicas."""
    desired = int(d["spec"].get("replicas", 1))
    return min(_fenceposts(d)[1], desired) if desired else 0


def _num(status: dict | None, field: str) -> int:
    return int((status or {}).get(field, 0) or 0)


def rollout_complete(st: dict, desired: int) -> bool:
    """DeploymentComplete: every replica updated and available, no old pods left."""
    return (st["updatedReplicas"] == desired and st["replicas"] == desired
            and st["availableReplicas"] == desired)


def made_progress(old: dict | None, new: dict) -> bool:
    """DeploymentProgressing: more updated/ready/available pods, or fewer old ones."""
    if any(new[f] > _num(old, f) for f in ("updatedReplicas", "readyReplicas", "availableReplicas")):
        return True
    old_olds = _num(old, "replicas") - _num(old, "updatedReplicas")
    return old_olds > new["replicas"] - new["updatedReplicas"]


class StatusWriter:
    """Writes ``status`` of Deployments; remembers when each last made progress."""

    def __init__(self, controller) -> None:
        self.ctl = controller
        self.store = controller.store
        self.clock = controller.clock
        self._progress_at: dict[str, float] = {}
        self._pending: dict[str, tuple[str, str]] = {}
        self._armed: dict[str, float] = {}

    def forget(self, uid: str) -> None:
        """Drop bookkeeping for a deleted Deployment."""
        self._progress_at.pop(uid, None)
        self._pending.pop(uid, None)
        self._armed.pop(uid, None)

    def note_new_rs(self, d: dict, new: dict, created: bool) -> None:
        """Remember the NewReplicaSetCreated / FoundNewReplicaSet condition for the next write."""
        name = new["metadata"]["name"]
        uid = d["metadata"]["uid"]
        if created:
            self._pending[uid] = ("NewReplicaSetCreated", f'Created new replica set "{name}"')
        elif _find(d, "Progressing") is None:
            self._pending[uid] = ("FoundNewReplicaSet", f'Found new replica set "{name}"')

    def write(self, key, new: dict | None, rses: list[dict]) -> None:
        """Recompute and store the status of the Deployment at ``key``."""
        d = self.store.get("deployments", *key)
        if d is None:
            return
        st = self._numbers(d, new, rses)
        conds = [dict(c) for c in (d.get("status") or {}).get("conditions") or ()]
        now = iso(self.clock.now())
        ok = st["availableReplicas"] >= int(d["spec"].get("replicas", 1)) - max_unavailable(d)
        _set(conds, "Available", *(AVAILABLE_OK if ok else AVAILABLE_LOW), now)
        self._progressing(d, new, st, conds, now)
        status = {k: v for k, v in st.items() if v or k == "observedGeneration"}
        status["conditions"] = conds

        def apply(obj: dict) -> None:
            obj["status"] = status

        self.store.mutate("deployments", *key, apply)

    def _numbers(self, d: dict, new: dict | None, rses: list[dict]) -> dict:
        available = sum(_num(rs.get("status"), "availableReplicas") for rs in rses)
        total = sum(int(rs["spec"].get("replicas", 0)) for rs in rses)
        return {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": sum(_num(rs.get("status"), "replicas") for rs in rses),
            "updatedReplicas": _num(new.get("status"), "replicas") if new else 0,
            "readyReplicas": sum(_num(rs.get("status"), "readyReplicas") for rs in rses),
            "availableReplicas": available,
            "unavailableReplicas": max(total - available, 0),
        }

    def _progressing(self, d: dict, new: dict | None, st: dict, conds: list[dict], now: str) -> None:
        uid = d["metadata"]["uid"]
        cur = _find_in(conds, "Progressing")
        if d["spec"].get("paused"):
            if cur is None or cur.get("reason") != "DeploymentPaused":
                _set(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
            return
        if cur is not None and cur.get("reason") == "DeploymentPaused":
            _set(conds, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now)
            self._touch(uid)
        pending = self._pending.pop(uid, None)
        if pending:
            _set(conds, "Progressing", "True", *pending, now)
            self._touch(uid)
        if new is None:
            return
        name = new["metadata"]["name"]
        desired = int(d["spec"].get("replicas", 1))
        if rollout_complete(st, desired):
            _set(conds, "Progressing", "True", "NewReplicaSetAvailable",
                 f'ReplicaSet "{name}" has successfully progressed.', now)
        elif made_progress(d.get("status"), st):
            _set(conds, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.',
                 now, force_update=True)
            self._touch(uid)
            self._requeue_at_deadline(d)
        elif self._timed_out(d, _find_in(conds, "Progressing")):
            _set(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                 f'ReplicaSet "{name}" has timed out progressing.', now)
        else:
            self._requeue_at_deadline(d)

    def _touch(self, uid: str) -> None:
        self._progress_at[uid] = self.clock.monotonic()

    def _deadline(self, d: dict) -> float | None:
        value = d["spec"].get("progressDeadlineSeconds")
        return None if value is None else float(value)

    def _timed_out(self, d: dict, cur: dict | None) -> bool:
        deadline = self._deadline(d)
        if deadline is None or cur is None or cur.get("reason") == "NewReplicaSetAvailable":
            return False
        if cur.get("reason") == "ProgressDeadlineExceeded":
            return True
        since = self._progress_at.setdefault(d["metadata"]["uid"], self.clock.monotonic())
        return self.clock.monotonic() - since > deadline

    def _requeue_at_deadline(self, d: dict) -> None:
        deadline = self._deadline(d)
        if deadline is None:
            return
        since = self._progress_at.setdefault(d["metadata"]["uid"], self.clock.monotonic())
        due = since + deadline + 0.5
        uid = d["metadata"]["uid"]
        if self._armed.get(uid) == due:
            return  # one timer per deadline, not one per sync
        self._armed[uid] = due
        remaining = max(0.0, due - self.clock.monotonic())
        self.ctl.cluster.later(remaining, self._deadline_timer, uid, key_of(d))

    def _deadline_timer(self, uid: str, key) -> None:
        # The timer may fire early if the clock speed changed since it was armed: re-arm on sync.
        self._armed.pop(uid, None)
        self.ctl.enqueue(key)


def _find(d: dict, ctype: str) -> dict | None:
    return _find_in((d.get("status") or {}).get("conditions") or [], ctype)


def _find_in(conds: list[dict], ctype: str) -> dict | None:
    return next((c for c in conds if c.get("type") == ctype), None)


def _set(conds: list[dict], ctype: str, status: str, reason: str, message: str, now: str,
         force_update: bool = False) -> None:
    """SetDeploymentCondition: no-op if status and reason are unchanged (unless force_update)."""
    cur = _find_in(conds, ctype)
    if cur is not None and cur["status"] == status and cur.get("reason") == reason and not force_update:
        return
    cond = {"type": ctype, "status": status, "lastUpdateTime": now,
            "lastTransitionTime": now, "reason": reason, "message": message}
    if cur is not None:
        if cur["status"] == status:
            cond["lastTransitionTime"] = cur.get("lastTransitionTime", now)
        conds[conds.index(cur)] = cond
    else:
        conds.append(cond)
