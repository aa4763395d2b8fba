"""The upgrade run's lock: a coordination.k8s.io/v1 Lease (kube-system/cockpit-upgrade-lock).

One cockpit at a time may run an upgrade. The holder renews ``spec.renewTime`` while it runs;
every other cockpit is refused with the holder's identity, target and last renewal. Liveness is
decided by the renewal time alone: a lease not renewed within ``leaseDurationSeconds`` is stale
and may be taken over (the taker journals whom it took over from). The holder identity names
the user, the host, the boot id (or machine id) and the PID, so two operator machines that
share a hostname never mistake each other's lock for their own.

The Lease also carries the requests other terminals send the running cockpit: a pause
(annotation ``cockpit.dev/pause-requested``) and an abort (``cockpit.dev/abort-requested``),
which the holder reads at every renewal.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cockpit.domain.records import LeaseRecord
from cockpit.errors import CockpitError
from cockpit.journal import current_user
from cockpit.kube.api import ObjectRef
from cockpit.kube.errors import Conflict, NotFound
from cockpit.kube.paths import path_for
from cockpit.kube.typed import as_record, get_record

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "cockpit-upgrade-lock"
LEASE_REF = ObjectRef("Lease", "coordination.k8s.io/v1", LEASE_NAME, LEASE_NAMESPACE)
A_LOCK_TARGET = "cockpit.dev/upgrade-target"
A_LOCK_RUN = "cockpit.dev/upgrade-run"
A_PAUSE = "cockpit.dev/pause-requested"
A_ABORT = "cockpit.dev/abort-requested"
RENEW_ATTEMPTS = 5  # conflicts with a concurrent pause/abort request before giving up a renewal
BOOT_ID_FILES = ("/proc/sys/kernel/random/boot_id", "/etc/machine-id")


class LockHeld(CockpitError):
    """Another cockpit holds the upgrade lock."""

    exit_status = 1

    def __init__(self, message: str, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.holder = holder


class LockLost(CockpitError):
    """Our lease was taken over by somebody else (or deleted) while we ran."""

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


def boot_id(files: tuple[str, ...] = BOOT_ID_FILES) -> str:
    """The first 12 hex digits of this boot's id (or the machine id); ``unknown`` without either."""
    for name in files:
        try:
            text = Path(name).read_text().strip().replace("-", "")
        except OSError:
            continue
        if text:
            return text[:12]
    return "unknown"


def make_identity() -> str:
    """``user@host/bootid:pid``: what ``holderIdentity`` says about this process."""
    return f"{current_user()}@{socket.gethostname()}/{boot_id()}:{os.getpid()}"


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lease, since when it was last renewed, and what was asked of them."""

    identity: str
    renew_time: datetime | None
    duration: int
    target: str
    run: str
    paused: bool
    resource_version: str = ""
    abort_requested: bool = False

    def expires(self) -> datetime | None:
        """When the lease goes stale unless renewed."""
        return self.renew_time + timedelta(seconds=self.duration) if self.renew_time else None

    def stale(self, now: datetime) -> bool:
        """Released, never renewed, or not renewed within its duration (the only liveness test)."""
        expires = self.expires()
        return not self.identity or expires is None or expires < now

    def describe(self, now: datetime) -> str:
        """One line for refusals and ``upgrade status``."""
        age = f"{(now - self.renew_time).total_seconds():.0f}s ago" if self.renew_time else "never"
        notes = ", pause requested" if self.paused else ""
        notes += ", abort requested" if self.abort_requested else ""
        return (f"{self.identity or '(released)'} (run {self.run or '?'}, target {self.target or '?'}, "
                f"renewed {age}, lease {self.duration}s{notes})")

    def to_dict(self) -> dict:
        """JSON form."""
        return {"holder": self.identity, "renewTime": micro_time(self.renew_time) if self.renew_time else None,
                "leaseDurationSeconds": self.duration, "target": self.target, "run": self.run,
                "pauseRequested": self.paused, "abortRequested": self.abort_requested}


def holder_from(record: LeaseRecord) -> LockHolder:
    """The holder as a Lease record says."""
    ann = record.annotations
    return LockHolder(
        identity=record.holder,
        renew_time=record.renew_time,
        duration=int(record.lease_duration_seconds or 0),
        target=ann.get(A_LOCK_TARGET, ""),
        run=ann.get(A_LOCK_RUN, ""),
        paused=ann.get(A_PAUSE) == "true",
        resource_version=record.resource_version,
        abort_requested=ann.get(A_ABORT) == "true",
    )


def holder_of(lease: dict) -> LockHolder:
    """The holder out of a Lease object as the API returned it."""
    return holder_from(as_record(LeaseRecord, lease))


def live_holder(holder: LockHolder | None, now: datetime | None = None) -> LockHolder | None:
    """``holder`` when it is a live run, else None."""
    now = now or datetime.now(timezone.utc)
    return holder if holder is not None and not holder.stale(now) else None


class RunLock:
    """Acquire, renew and release the upgrade Lease; send pause/abort requests to its holder."""

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

    async def read(self) -> LeaseRecord | None:
        """The Lease, or None."""
        try:
            return await get_record(self.client, LeaseRecord, self.path)
        except NotFound:
            return None

    async def holder(self) -> LockHolder | None:
        """The current holder (None if there is no lease)."""
        lease = await self.read()
        return holder_from(lease) if lease else None

    async def acquire(self, target: str, run: str) -> LockHolder | None:
        """Take the lock for a run to ``target``; raise LockHeld naming a live holder.

        Returns the stale holder that was taken over (None if the lease was free or ours).
        """
        lease = await self.read()
        now = datetime.now(timezone.utc)
        if lease is None:
            return await self._create(target, run, now)
        holder = holder_from(lease)
        if holder.identity not in ("", self.identity) and not holder.stale(now):
            raise LockHeld(f"another cockpit holds the upgrade lock {self.namespace}/{self.name}: "
                           f"{holder.describe(now)}; see `cockpit upgrade status`", holder)
        self.previous = holder if holder.identity not in ("", self.identity) else None
        await self._replace(lease, target, run, now)
        return self.previous

    async def renew(self) -> LockHolder:
        """Renew ``renewTime``; returns the holder as renewed (pause/abort requests). Raises LockLost.

        A conflict means somebody wrote the Lease since we read it (a pause request, or a
        takeover): read it again and judge; only our own lease is ever renewed.
        """
        for _ in range(RENEW_ATTEMPTS):
            lease = await self.read()
            if lease is None or lease.holder != self.identity:
                raise LockLost(f"the upgrade lock {self.namespace}/{self.name} was taken over by "
                               f"{lease.holder if lease else 'nobody (deleted)'}; stopping")
            now = datetime.now(timezone.utc)
            spec = self._spec(lease.acquire_time or now, now, lease.lease_transitions)
            try:
                return holder_of(await self.client.replace(self.path, self._body(lease.annotations, spec, lease)))
            except Conflict:
                continue
        raise LockLost(f"the upgrade lock {self.namespace}/{self.name} kept changing under this cockpit; stopping")

    async def release(self) -> None:
        """Give the lock up (delete the Lease if it is still ours)."""
        lease = await self.read()
        if lease is not None and lease.holder == self.identity:
            try:
                await self.client.delete(self.path)
            except NotFound:
                pass

    async def request(self, annotation: str, value: bool, *, dry_run: bool = False) -> LockHolder:
        """Ask the holder (any process) to pause/abort at its next step boundary, or lift the request."""
        body = {"metadata": {"annotations": {annotation: "true" if value else None}}}
        try:
            return holder_of(await self.client.patch(self.path, body, "merge", dry_run=dry_run))
        except NotFound:
            raise CockpitError("no upgrade is running (no lock lease)") from None

    async def request_pause(self, paused: bool, *, dry_run: bool = False) -> LockHolder:
        """Ask the running cockpit to pause at the next step boundary (or lift that request)."""
        return await self.request(A_PAUSE, paused, dry_run=dry_run)

    async def break_lock(self, *, dry_run: bool = False) -> LockHolder | None:
        """Delete the lease whoever holds it (an abort); returns who held it."""
        lease = await self.read()
        if lease is None:
            return None
        try:
            await self.client.delete(self.path, dry_run=dry_run)
        except NotFound:
            pass
        return holder_from(lease)

    async def wait_released(self, timeout: float, interval: float = 0.2) -> LockHolder | None:
        """Wait until the lease is gone or stale; returns the holder still live at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            holder = live_holder(await self.holder())
            if holder is None or loop.time() >= deadline:
                return holder
            await asyncio.sleep(interval)

    async def _create(self, target: str, run: str, now: datetime) -> LockHolder | None:
        body = self._body({A_LOCK_TARGET: target, A_LOCK_RUN: run}, self._spec(now, now, 0))
        try:
            await self.client.create(self.collection, body)
        except Conflict:
            # Somebody created it between our read and our create: judge them like any holder.
            lease = await self.read()
            holder = holder_from(lease) if lease else None
            if holder is not None and not holder.stale(datetime.now(timezone.utc)):
                raise LockHeld(f"lost the race for the upgrade lock to {holder.describe(now)}", holder) from None
            return await self.acquire(target, run)
        return None

    async def _replace(self, lease: LeaseRecord, target: str, run: str, now: datetime) -> None:
        annotations = {k: v for k, v in lease.annotations.items() if k not in (A_PAUSE, A_ABORT)}
        annotations.update({A_LOCK_TARGET: target, A_LOCK_RUN: run})
        body = self._body(annotations, self._spec(now, now, lease.lease_transitions + 1), lease)
        try:
            await self.client.replace(self.path, body)
        except Conflict:
            fresh = await self.read()
            holder = holder_from(fresh) if fresh else None
            raise LockHeld(f"lost the race for the upgrade lock to "
                           f"{holder.identity if holder else 'another cockpit'}", holder) from None

    def _body(self, annotations: dict[str, str], spec: dict, current: LeaseRecord | None = None) -> dict:
        """A whole Lease to create or replace (``current``'s resourceVersion guards the replace)."""
        meta: dict = {"name": self.name, "namespace": self.namespace, "annotations": dict(annotations)}
        if current is not None:
            meta["resourceVersion"] = current.resource_version
            if current.labels:
                meta["labels"] = dict(current.labels)
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}

    def _spec(self, acquired: datetime, renewed: datetime, transitions: int) -> dict:
        return {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration,
                "acquireTime": micro_time(acquired), "renewTime": micro_time(renewed),
                "leaseTransitions": transitions}
