"""Traffic pane: blue/green Service pairs and weighted HTTPRoute splits.

One row per colour of a pair (``● blue ACTIVE 3/3 ready``) and one row per backend of a route
(a proportional bar with the percentage and the ready endpoints behind it), so a split that
points at nothing is obvious. Changes are recomputed per namespace: a watch event in ``shop``
only rebuilds the ``shop`` rows.

With a metrics feed (:class:`~cockpit.controllers.traffic_metrics.TrafficMetrics`) each row also
shows its backend's (or colour's) requests/s, success ratio, P99 and a trend, polled in a
worker and delivered by a message; the header says where the numbers come from, which backend
an analysis would fail, or plainly that no Prometheus is configured or reachable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rich.text import Text
from textual import on

from cockpit.controllers.switch_plan import PENDING as SWITCH_PENDING
from cockpit.controllers.traffic_metrics import ALL_COLOURS, MetricsSnapshot, unconfigured
from cockpit.ui import views
from cockpit.ui.fmt import bar, slot_label
from cockpit.ui.panes.base import Cells, Pane, SortText, sort_by_first
from cockpit.ui.traffic_live import COLUMNS as METRIC_COLUMNS
from cockpit.ui.traffic_live import MetricsUpdated, failing_names, metric_cells, status_text

TREND_GROWTH = 50  # extra cells the trend may take when the pane is wide (one per poll)
BASE_CELLS = 4  # name, backend, split, ready: the cells the cluster gives; metric cells follow


class TrafficPane(Pane):
    """Blue/green pairs and HTTPRoute splits, grouped by namespace."""

    PANE = "traffic"
    TITLE = "Traffic"
    KINDS = ("services", "httproutes", "endpointslices", "deployments")
    COLUMNS = (
        ("name", "svc / route", 12),
        ("backend", "backend", 14),
        ("split", "split", 12),
        ("ready", "ready", 10),
    )
    FLEX = (("ready", None),)

    def __init__(self, *args: Any, labels: Sequence[str] = ("color", "slot", "version"), metrics: Any = None,
                 **kwargs: Any) -> None:
        self.metrics = metrics  # a TrafficMetrics (or a feed with its interface); None: no metrics at all
        self.live = bool(metrics is not None and metrics.configured)
        if self.live:  # the numbers come right after the backend, so they show even in the narrow grid
            self.COLUMNS = (*self.COLUMNS[:2], *METRIC_COLUMNS[:3], self.COLUMNS[2], METRIC_COLUMNS[3],
                            self.COLUMNS[3])
            self.FLEX = (("trend", TREND_GROWTH), ("ready", None))  # maximised: a longer trend first
        super().__init__(*args, **kwargs)
        self.labels = tuple(labels)
        self.snapshot: MetricsSnapshot | None = None
        self._poller: Any = None  # the running poll's worker
        self._targets: dict[str, tuple[str, str, str]] = {}  # row key -> (namespace, service, colour)
        self._ns_of: dict[str, str] = {}  # uid -> namespace, to place deletions
        self._members: dict[tuple[str, str], set[str]] = {}  # (kind, namespace) -> uids
        self._ns_rows: dict[str, set[str]] = {}  # namespace -> row keys shown for it
        self._order: dict[str, tuple] = {}  # row key -> sort position

    # -- live metrics ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.metrics is None:
            return
        if not self.live:
            self.show_metrics(unconfigured())
            return
        self.set_header(Text(f"metrics: asking {self.metrics.url}…", style="dim"))
        self.poll_metrics()
        self.set_interval(self.metrics.interval, self.poll_metrics)

    async def on_unmount(self) -> None:
        if self.metrics is not None:
            await self.metrics.close()

    def poll_metrics(self) -> None:
        """Start one poll in a worker, unless the last one is still waiting for its answer.

        Skipping (rather than replacing) matters when Prometheus hangs: a poll that is replaced
        every interval would never live long enough to time out and say it is unreachable.
        """
        if self._poller is not None and not self._poller.is_finished:
            return
        self._poller = self.run_worker(self._poll(), group="traffic-metrics", exit_on_error=False)

    async def _poll(self) -> None:
        self.post_message(MetricsUpdated(await self.metrics.poll()))

    @on(MetricsUpdated)
    def _metrics_arrived(self, event: MetricsUpdated) -> None:
        event.stop()
        self.show_metrics(event.snapshot)

    def show_metrics(self, snapshot: MetricsSnapshot) -> None:
        """Show one poll: the header, and the metric cells of every row (O(rows shown))."""
        self.snapshot = snapshot
        self._show_status(snapshot)
        if not self.live:
            return
        self.sync([(key, self._with_metrics(key, self._cluster_cells(self.rows[key])))
                   for key in self._targets if key in self.rows])

    def _show_status(self, snapshot: MetricsSnapshot) -> None:
        self.set_header(status_text(snapshot, failing_names(snapshot, set(self._targets.values()))))

    def _cluster_cells(self, cells: Cells) -> Cells:
        """The four cells the cluster gives, without the metric cells between them."""
        return (*cells[:2], cells[5], cells[-1]) if self.live and len(cells) > BASE_CELLS else cells

    def _with_metrics(self, key: str, cells: Cells) -> Cells:
        """The four cluster cells with the metric cells in their column places (see COLUMNS)."""
        if not self.live:
            return cells
        target = self._targets.get(key)
        snapshot = self.snapshot
        reading = snapshot.reading(*target) if snapshot and target else None
        trend = snapshot.trend(*target) if snapshot and target else ()
        numbers = metric_cells(reading, trend, self.column_width("trend"), self.colour("state-failed"))
        rate, success, p99, trend = numbers
        return (*cells[:2], rate, success, p99, cells[2], trend, cells[3])

    def reading_of(self, key: str) -> Any:
        """The latest reading of a row (None before a poll or without traffic)."""
        target = self._targets.get(key)
        return self.snapshot.reading(*target) if self.snapshot and target else None

    # -- rows --------------------------------------------------------------------------------------

    def refresh_from(self, cache: Any, changes: dict[str, set[str] | None]) -> None:
        """Rebuild the rows of every namespace touched by the changes."""
        namespaces: set[str] = set()
        for kind, uids in changes.items():
            store = cache.store(kind)
            for uid in views.all_uids(store) if uids is None else uids:
                namespaces |= self._namespace_of(kind, uid, store.get(uid))
        for namespace in sorted(namespaces):
            self._rebuild(cache, namespace)
        if namespaces and self.snapshot is not None:  # rows came or went: the failing list may change
            self._show_status(self.snapshot)

    def _namespace_of(self, kind: str, uid: str, record: Any) -> set[str]:
        """Keep the per-namespace membership index; returns the namespaces this uid touches."""
        old = self._ns_of.pop(uid, None)
        found = {old} if old is not None else set()
        if old is not None:
            self._members.get((kind, old), set()).discard(uid)
        if record is not None:
            self._ns_of[uid] = record.namespace
            self._members.setdefault((kind, record.namespace), set()).add(uid)
            found.add(record.namespace)
        return found

    def _records(self, cache: Any, kind: str, namespace: str) -> list[Any]:
        store = cache.store(kind)
        return [r for r in (store.get(u) for u in self._members.get((kind, namespace), ())) if r is not None]

    def _rebuild(self, cache: Any, namespace: str) -> None:
        rows = dict(self._rows_for(cache, namespace))
        stale = self._ns_rows.get(namespace, set()) - set(rows)
        self._ns_rows[namespace] = set(rows)
        for key in stale:
            self._order.pop(key, None)
            self._targets.pop(key, None)
        self.sync([*((key, None) for key in stale), *rows.items()])

    def _rows_for(self, cache: Any, namespace: str) -> Iterator[tuple[str, Cells]]:
        services = self._records(cache, "services", namespace)
        deployments = self._records(cache, "deployments", namespace)
        # A switch left unverified (its marker still on the Service) shows in red until resolved.
        pending = {s.uid for s in services if SWITCH_PENDING in s.annotations}
        for position, pair in enumerate(views.bluegreen_pairs(cache, services, deployments, self.labels)):
            for index, slot in enumerate(pair.slots):
                key = f"svc:{pair.uid}:{slot.value}"
                self._order[key] = (namespace, 0, position, index)
                self._targets[key] = (namespace, pair.service, slot.value)
                yield key, self._with_metrics(key, self._slot_cells(key, pair, slot, first=index == 0,
                                                                    pending=pair.uid in pending))
        routes = self._records(cache, "httproutes", namespace)
        for position, split in enumerate(views.route_splits(cache, routes, services)):
            for index, backend in enumerate(split.backends):
                key = f"route:{split.uid}:{split.rule}:{index}:{backend.name}"
                self._order[key] = (namespace, 1, position, split.rule, index)
                self._targets[key] = (backend.namespace or namespace, backend.name, ALL_COLOURS)
                yield key, self._with_metrics(key, self._backend_cells(key, split, backend, first=index == 0))

    def _slot_cells(self, key: str, pair: Any, slot: Any, first: bool, pending: bool = False) -> Cells:
        colour = self.colour(f"colour-{slot.value}") if slot.value in ("blue", "green") else ""
        failed = self.colour("state-failed")
        style = f"bold {failed}" if pending else "bold" if first else ""
        name = SortText(pair.key if first else f"  {pair.label}=", self._order[key], style)
        if pending and slot.active:
            share = Text("⚠ unverified", style=f"bold {failed}")
        elif slot.active:
            share = Text("◀ traffic")
        elif slot.ready_to_switch:
            share = Text("✔ can switch", style=self.colour("state-complete"))
        else:
            share = Text("✘ not ready", style=self.colour("state-failed"))
        # Compact so it fits the pane at 160 columns: ready/desired pods, then endpoints ("ep").
        pods = Text(f"{slot.ready}/{slot.desired}")
        if slot.active:
            pods.append(f" · {slot.ready_endpoints} ep", style="" if slot.ready_endpoints else "bold reverse")
        return name, slot_label(slot.value, colour, active=slot.active), share, pods

    def _backend_cells(self, key: str, split: Any, backend: Any, first: bool) -> Cells:
        name = SortText(split.key if first else (f"  rule {split.rule}" if split.rule else ""), self._order[key],
                        "bold" if first else "")
        share = bar(backend.percent / 100, 7, self.colour("bar-filled"), self.colour("bar-empty"))
        share.append(f"{backend.percent:>4.0f}%")
        empty = backend.weight > 0 and not backend.ready_endpoints
        # ready/total endpoints behind the backend, then its declared weight ("w").
        ready = Text(f"{'✘ ' if empty else ''}{backend.ready_endpoints}/{backend.total_endpoints}"
                     f" · w{backend.weight}", style="bold reverse" if empty else "")
        return name, Text(f"→ {backend.name}"), share, ready

    def resort(self) -> None:
        """Group by namespace, pairs before routes, in domain order (the name cell carries it)."""
        sort_by_first(self.table, "name")

    def selected_record(self, cache: Any) -> Any:
        """The Service or HTTPRoute behind the selected row."""
        key = self.selected_key()
        if not key:
            return None
        kind, uid = key.split(":")[:2]
        return cache.store("services" if kind == "svc" else "httproutes").get(uid)
