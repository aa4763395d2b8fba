"""Reads that return typed records: the kube boundary where raw JSON becomes domain records.

Operations and controllers read through these helpers, so that nothing above the kube layer
indexes a raw Kubernetes dict for reading. Lists are paged (``limit`` + ``continue``) so a
150,000-pod cluster never arrives as one response. Raw objects are returned only where the
caller writes them back (``list_objects``, ``get_object``).
"""

from __future__ import annotations

from typing import Any

from cockpit.domain.records import Record, decode
from cockpit.kube.api import KubeApi

PAGE = 500


async def list_objects(api: KubeApi, path: str, params: dict[str, Any] | None = None,
                       page: int = PAGE) -> list[dict]:
    """Every raw object of a (paged) list."""
    items: list[dict] = []
    token = ""
    while True:
        query = {**(params or {}), "limit": page, **({"continue": token} if token else {})}
        listing = await api.list(path, query)
        items += listing.get("items") or []
        token = (listing.get("metadata") or {}).get("continue") or ""
        if not token:
            return items


async def list_records(api: KubeApi, kind: str, path: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Every object of a (paged) list, decoded into the records for ``kind`` (a plural)."""
    return [decode(kind, raw) for raw in await list_objects(api, path, params)]


async def get_record(api: KubeApi, kind: str, path: str) -> Any:
    """One object decoded into its record (raises ApiError, e.g. 404)."""
    return decode(kind, await api.get(path))


async def get_object(api: KubeApi, kind: str, path: str) -> tuple[dict, Record]:
    """One object as raw JSON (to write back) and as its record (to read)."""
    raw = await api.get(path)
    return raw, decode(kind, raw)
