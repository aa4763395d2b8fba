"""CronJob controller: creates a Job at each scheduled time and prunes finished ones.

Schedules run on simulated time (a minute passes in 3 real seconds at speed 20) like every
other simulated delay; status timestamps are wall-clock as everywhere else. Only the latest missed
time is run, as the real controller does; ``concurrencyPolicy`` Forbid skips a run while a Job is
active and Replace deletes the active ones; the history limits keep the newest finished Jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cockpit.sim.controllers.base import Controller
from cockpit.sim.controllers.cron import parse_schedule
from cockpit.sim.errors import ApiError
from cockpit.sim.objects import controller_of, iso, key_of, owner_ref

SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"


class CronJobController(Controller):
    """Runs every CronJob's schedule."""

    name = "cronjob-controller"

    def __init__(self, cluster) -> None:
        super().__init__(cluster)
        self._anchor = (self.clock.now(), self.clock.monotonic())
        self.last: dict[tuple[str, str], datetime] = {}

    def handlers(self):
        """CronJobs and the Jobs they own."""
        return {"cronjobs": self._on_cronjob, "jobs": self._on_job}

    def _on_cronjob(self, etype: str, obj: dict, old: dict | None) -> None:
        if etype == "DELETED":
            self.last.pop(key_of(obj), None)
        elif old is None or old.get("spec") != obj.get("spec"):
            self.enqueue(key_of(obj))

    def _on_job(self, etype: str, obj: dict, old: dict | None) -> None:
        ref = controller_of(obj)
        if ref and ref.get("kind") == "CronJob":
            self.enqueue((obj["metadata"]["namespace"], ref["name"]))

    def sim_now(self) -> datetime:
        """Wall-clock time as the simulated clock sees it (runs ahead when the sim is sped up)."""
        wall, mono = self._anchor
        return wall + timedelta(seconds=self.clock.monotonic() - mono)

    def sync(self, key) -> None:
        """Run a due schedule, prune history, refresh the status and wait for the next time."""
        cronjob = self.store.get("cronjobs", *key)
        if cronjob is None or cronjob["metadata"].get("deletionTimestamp"):
            return
        try:
            schedule = parse_schedule(cronjob["spec"].get("schedule", ""))
        except ValueError as err:
            self.cluster.events.record(cronjob, "Warning", "UnparseableSchedule",
                                       f"unparseable schedule: {err}", self.name)
            return
        now = self.sim_now()
        last = self.last.setdefault(key, now)
        due = schedule.next_after(last)
        if due is not None and due <= now:
            while (later := schedule.next_after(due)) is not None and later <= now:
                due = later  # only the most recent missed time runs
            self.last[key] = due
            if not cronjob["spec"].get("suspend"):
                self._run(cronjob, due)
        jobs = self._jobs(cronjob)
        self._prune(cronjob, jobs)
        self._write_status(cronjob, self._jobs(cronjob))
        upcoming = schedule.next_after(self.last[key])
        if upcoming is not None:
            self.enqueue_after(max((upcoming - now).total_seconds(), 0.0) + 0.01, key)

    def _jobs(self, cronjob: dict) -> list[dict]:
        uid = cronjob["metadata"]["uid"]
        return [j for j in self.store.list("jobs", cronjob["metadata"]["namespace"])
                if (controller_of(j) or {}).get("uid") == uid]

    def _run(self, cronjob: dict, due: datetime) -> None:
        active = [j for j in self._jobs(cronjob) if not _finished(j)]
        policy = cronjob["spec"].get("concurrencyPolicy", "Allow")
        if active and policy == "Forbid":
            self.cluster.events.record(cronjob, "Normal", "JobAlreadyActive",
                                       "Not starting job because prior execution is running and concurrency "
                                       "policy is Forbid", self.name)
            return
        if policy == "Replace":
            for job in active:
                self.store.remove("jobs", *key_of(job))
        template = cronjob["spec"].get("jobTemplate") or {}
        meta = template.get("metadata") or {}
        name = f"{cronjob['metadata']['name']}-{int(due.timestamp() // 60)}"
        job = {"apiVersion": "batch/v1", "kind": "Job", "spec": template.get("spec") or {},
               "metadata": {"name": name, "namespace": cronjob["metadata"]["namespace"],
                            "labels": dict(meta.get("labels") or {}),
                            "annotations": {**(meta.get("annotations") or {}), SCHEDULED_AT: iso(due)},
                            "ownerReferences": [owner_ref(cronjob)]}}
        try:
            self.store.create("jobs", job)
        except ApiError as err:
            self.cluster.events.record(cronjob, "Warning", "FailedCreate", f"Error creating job: {err}", self.name)
            return
        self.cluster.events.record(cronjob, "Normal", "SuccessfulCreate", f"Created job {name}", self.name)

    def _prune(self, cronjob: dict, jobs: list[dict]) -> None:
        spec = cronjob["spec"]
        for outcome, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                               ("Failed", spec.get("failedJobsHistoryLimit", 1))):
            done = sorted((j for j in jobs if _finished(j) == outcome),
                          key=lambda j: j["metadata"].get("creationTimestamp", ""))
            for job in done[:max(len(done) - int(limit), 0)]:
                self.store.remove("jobs", *key_of(job))
                self.cluster.events.record(cronjob, "Normal", "SuccessfulDelete",
                                           f"Deleted job {job['metadata']['name']}", self.name)

    def _write_status(self, cronjob: dict, jobs: list[dict]) -> None:
        active = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"],
                   "namespace": j["metadata"]["namespace"], "uid": j["metadata"]["uid"],
                   "resourceVersion": j["metadata"]["resourceVersion"]} for j in jobs if not _finished(j)]
        finished = [j["status"]["completionTime"] for j in jobs if (j.get("status") or {}).get("completionTime")]

        def apply(obj: dict) -> None:
            status = obj.setdefault("status", {})
            if active:
                status["active"] = active
            else:
                status.pop("active", None)
            if jobs:
                status["lastScheduleTime"] = max(j["metadata"].get("creationTimestamp", "") for j in jobs)
            if finished:
                status["lastSuccessfulTime"] = max(finished)
        self.store.mutate("cronjobs", *key_of(cronjob), apply)


def _finished(job: dict) -> str | None:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"]
    return None
