"""The upgrade run's lock: a coordination.k8s.io/v1 Lease (kube-system/cockpit-upgrade-lock).

One cockpit at a time may run an upgrade. The holder renews ``spec.renewTime`` while it runs;
another cockpit is refused with the holder's identity, target and last renewal. A lease that
was not renewed within ``leaseDurationSeconds`` is stale and may be taken over, and so is one
held by a process on this very host that no longer exists (a ``kill -9``), so an operator can
resume at once instead of waiting for the lease to expire. The Lease also carries a pause
request (annotation ``cockpit.dev/pause-requested``) so ``cockpit upgrade pause`` works from
another terminal.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cockpit.errors import CockpitError
from cockpit.journal import current_user
from cockpit.kube.errors import Conflict, NotFound
from cockpit.kube.paths import path_for

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "cockpit-upgrade-lock"
A_LOCK_TARGET = "cockpit.dev/upgrade-target"
A_LOCK_RUN = "cockpit.dev/upgrade-run"
A_PAUSE = "cockpit.dev/pause-requested"


class LockHeld(CockpitError):
    """Another cockpit holds the upgrade lock."""

    exit_status = 1

    def __init__(self, message: str, holder: LockHolder) -> None:
        super().__init__(message)
        self.holder = holder


class LockLost(CockpitError):
    """Our lease was taken over by somebody else while we ran."""

    exit_status = 1


def micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime string."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> datetime | None:
    """Parse a MicroTime / Time string (None if absent or malformed)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def make_identity() -> str:
    """``user@host:pid`` (what ``holderIdentity`` says about us)."""
    return f"{current_user()}@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lease and since when it was last renewed."""

    identity: str
    renew_time: datetime | None
    duration: int
    target: str
    run: str
    paused: bool
    resource_version: str = ""

    def expires(self) -> datetime | None:
        """When the lease goes stale unless renewed."""
        return self.renew_time + timedelta(seconds=self.duration) if self.renew_time else None

    def stale(self, now: datetime) -> bool:
        """Past its duration, released, or held by a dead process on this host."""
        if not self.identity:
            return True
        expires = self.expires()
        return expires is None or expires < now or _dead_local_process(self.identity)

    def describe(self, now: datetime) -> str:
        """One line for refusals and ``upgrade status``."""
        age = f"{(now - self.renew_time).total_seconds():.0f}s ago" if self.renew_time else "never"
        return (f"{self.identity or '(released)'} (run {self.run or '?'}, target {self.target or '?'}, "
                f"renewed {age}, lease {self.duration}s{', pause requested' if self.paused else ''})")

    def to_dict(self) -> dict:
        """JSON form."""
        return {"holder": self.identity, "renewTime": micro_time(self.renew_time) if self.renew_time else None,
                "leaseDurationSeconds": self.duration, "target": self.target, "run": self.run,
                "pauseRequested": self.paused}


def _dead_local_process(identity: str) -> bool:
    """True when ``identity`` names a process on this host that no longer runs."""
    _, _, host_pid = identity.partition("@")
    host, _, pid_text = host_pid.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(int(pid_text))


def _is_zombie(pid: int) -> bool:
    # A SIGKILLed child not yet reaped by its parent still answers kill(pid, 0).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def holder_of(lease: dict) -> LockHolder:
    """Read the holder out of a Lease object."""
    spec = lease.get("spec") or {}
    ann = (lease.get("metadata") or {}).get("annotations") or {}
    return LockHolder(
        identity=spec.get("holderIdentity") or "",
        renew_time=parse_micro_time(spec.get("renewTime")),
        duration=int(spec.get("leaseDurationSeconds") or 0),
        target=ann.get(A_LOCK_TARGET, ""),
        run=ann.get(A_LOCK_RUN, ""),
        paused=ann.get(A_PAUSE) == "true",
        resource_version=(lease.get("metadata") or {}).get("resourceVersion", ""),
    )


class RunLock:
    """Acquire, renew and release the upgrade Lease."""

    def __init__(self, client, identity: str | None = None, duration: int = 30,
                 namespace: str = LEASE_NAMESPACE, name: str = LEASE_NAME) -> None:
        self.client = client
        self.identity = identity or make_identity()
        self.duration = max(1, int(duration))
        self.path = path_for("leases", namespace, name)
        self.collection = path_for("leases", namespace)
        self.name = name
        self.namespace = namespace
        self.previous: LockHolder | None = None  # the stale holder we took over from, if any

    async def read(self) -> dict | None:
        """The Lease object, or None."""
        try:
            return await self.client.get(self.path)
        except NotFound:
            return None

    async def holder(self) -> LockHolder | None:
        """The current holder (None if there is no lease)."""
        lease = await self.read()
        return holder_of(lease) if lease else None

    async def acquire(self, target: str, run: str) -> LockHolder | None:
        """Take the lock for a run to ``target``; raise LockHeld naming a live holder.

        Returns the stale holder that was taken over (None if the lease was free or ours).
        """
        lease = await self.read()
        now = datetime.now(timezone.utc)
        if lease is None:
            await self._create(target, run, now)
            return None
        holder = holder_of(lease)
        if holder.identity not in ("", self.identity) and not holder.stale(now):
            raise LockHeld(f"another cockpit holds the upgrade lock {self.namespace}/{self.name}: "
                           f"{holder.describe(now)}; see `cockpit upgrade status`", holder)
        self.previous = holder if holder.identity not in ("", self.identity) else None
        await self._replace(lease, target, run, now, transitions=1)
        return self.previous

    async def renew(self) -> bool:
        """Renew ``renewTime``; returns whether a pause was requested. Raises LockLost."""
        lease = await self.read()
        if lease is None or holder_of(lease).identity != self.identity:
            raise LockLost(f"the upgrade lock {self.namespace}/{self.name} was taken over by "
                           f"{holder_of(lease).identity if lease else 'nobody (deleted)'}; stopping")
        lease["spec"]["renewTime"] = micro_time(datetime.now(timezone.utc))
        try:
            await self.client.replace(self.path, lease)
        except Conflict:
            return await self.renew()
        return holder_of(lease).paused

    async def release(self) -> None:
        """Give the lock up (delete the Lease if it is still ours)."""
        lease = await self.read()
        if lease is not None and holder_of(lease).identity == self.identity:
            try:
                await self.client.delete(self.path)
            except NotFound:
                pass

    async def request_pause(self, paused: bool) -> LockHolder:
        """Ask the running cockpit (any process) to pause at the next step boundary, or resume."""
        lease = await self.read()
        if lease is None:
            raise CockpitError("no upgrade is running (no lock lease)")
        body = {"metadata": {"annotations": {A_PAUSE: "true" if paused else None}}}
        return holder_of(await self.client.patch(self.path, body, "merge"))

    async def break_lock(self) -> LockHolder | None:
        """Delete the lease whoever holds it (``upgrade abort --force``)."""
        lease = await self.read()
        if lease is None:
            return None
        await self.client.delete(self.path)
        return holder_of(lease)

    async def _create(self, target: str, run: str, now: datetime) -> None:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "annotations": {A_LOCK_TARGET: target, A_LOCK_RUN: run}},
                "spec": self._spec(now, 0)}
        try:
            await self.client.create(self.collection, body)
        except Conflict:
            # Somebody created it between our read and our create: judge them like any holder.
            await self.acquire(target, run)

    async def _replace(self, lease: dict, target: str, run: str, now: datetime, transitions: int) -> None:
        spec = lease.get("spec") or {}
        lease["spec"] = self._spec(now, int(spec.get("leaseTransitions") or 0) + transitions)
        ann = lease.setdefault("metadata", {}).setdefault("annotations", {}) or {}
        ann.update({A_LOCK_TARGET: target, A_LOCK_RUN: run})
        ann.pop(A_PAUSE, None)
        lease["metadata"]["annotations"] = ann
        try:
            await self.client.replace(self.path, lease)
        except Conflict:
            fresh = await self.read()
            holder = holder_of(fresh) if fresh else None
            raise LockHeld(f"lost the race for the upgrade lock to "
                           f"{holder.identity if holder else 'another cockpit'}", holder) from None

    def _spec(self, now: datetime, transitions: int) -> dict:
        return {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration,
                "acquireTime": micro_time(now), "renewTime": micro_time(now), "leaseTransitions": transitions}
