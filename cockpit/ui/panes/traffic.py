"""Traffic pane: blue/green Service pairs and weighted HTTPRoute splits.

One row per colour of a pair (``● blue ACTIVE 3/3 ready``) and one row per backend of a route
(a proportional bar with the percentage and the ready endpoints behind it), so a split that
points at nothing is obvious. Changes are recomputed per namespace: a watch event in ``shop``
only rebuilds the ``shop`` rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rich.text import Text

from cockpit.controllers.switch_plan import PENDING as SWITCH_PENDING
from cockpit.ui import views
from cockpit.ui.fmt import bar, slot_label
from cockpit.ui.panes.base import Cells, Pane, SortText, sort_by_first


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

    def __init__(self, *args: Any, labels: Sequence[str] = ("color", "slot", "version"), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels = tuple(labels)
        self._ns_of: dict[str, str] = {}  # uid -> namespace, to place deletions
        self._members: dict[tuple[str, str], set[str]] = {}  # (kind, namespace) -> uids
        self._ns_rows: dict[str, set[str]] = {}  # namespace -> row keys shown for it
        self._order: dict[str, tuple] = {}  # row key -> sort position

    def refresh_from(self, cache: Any, changes: dict[str, set[str] | None]) -> None:
        """Rebuild the rows of every namespace touched by the changes."""
        namespaces: set[str] = set()
        for kind, uids in changes.items():
            store = cache.store(kind)
            for uid in views.all_uids(store) if uids is None else uids:
                namespaces |= self._namespace_of(kind, uid, store.get(uid))
        for namespace in sorted(namespaces):
            self._rebuild(cache, namespace)

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
                yield key, self._slot_cells(key, pair, slot, first=index == 0, pending=pair.uid in pending)
        routes = self._records(cache, "httproutes", namespace)
        for position, split in enumerate(views.route_splits(cache, routes, services)):
            for index, backend in enumerate(split.backends):
                key = f"route:{split.uid}:{split.rule}:{index}:{backend.name}"
                self._order[key] = (namespace, 1, position, split.rule, index)
                yield key, self._backend_cells(key, split, backend, first=index == 0)

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
