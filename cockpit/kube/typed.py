"""Typed reads: GET and LIST answers decoded into records at the kube boundary.

Controllers ask for ``PodRecord``/``NodeRecord``/... instead of indexing raw dicts; the raw
form stays only for bodies that are written back. Lists follow ``continue`` tokens in pages
of 500 (kubectl's ``--chunk-size``). A client that can return raw bytes (``get_raw``, as
:class:`cockpit.kube.client.KubeClient` does) is decoded straight from JSON, which skips the
dict step; any other client's dict answers are converted the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from cockpit.domain.records import RECORD_TYPES, Record, decode, decode_json, decode_list

R = TypeVar("R", bound=Record)
PAGE = 500

_KIND_OF: dict[type[Record], str] = {record_type: kind for kind, record_type in RECORD_TYPES.items()}


def kind_of(record_type: type[Record]) -> str:
    """The kind plural a record type decodes (``PodRecord`` -> ``"pods"``)."""
    return _KIND_OF[record_type]


def as_record(record_type: type[R], obj: dict) -> R:
    """One raw object as a record of ``record_type``."""
    return decode(kind_of(record_type), obj)  # type: ignore[return-value]


def as_records(record_type: type[R], objs: Iterable[dict]) -> list[R]:
    """Raw objects (e.g. a list answer's ``items``) as records of ``record_type``."""
    kind = kind_of(record_type)
    return [decode(kind, obj) for obj in objs]  # type: ignore[misc]


async def get_record(client: Any, record_type: type[R], path: str) -> R:
    """GET one object as a record (ApiError, e.g. NotFound, as the client raises it)."""
    get_raw = getattr(client, "get_raw", None)
    if get_raw is not None:
        return decode_json(kind_of(record_type), await get_raw(path))  # type: ignore[return-value]
    return as_record(record_type, await client.get(path))


async def list_records(client: Any, record_type: type[R], path: str, params: dict | None = None) -> list[R]:
    """LIST a collection as records, following ``continue`` tokens."""
    query = dict(params or {}, limit=PAGE)
    out: list[R] = []
    while True:
        page, token = await _page(client, record_type, path, query)
        out += page
        if not token:
            return out
        query["continue"] = token


async def _page(client: Any, record_type: type[R], path: str, query: dict) -> tuple[list[R], str]:
    get_raw = getattr(client, "get_raw", None)
    if get_raw is not None:
        records, _, token = decode_list(kind_of(record_type), await get_raw(path, query))
        return records, token  # type: ignore[return-value]
    doc = await client.list(path, query)
    return as_records(record_type, doc.get("items") or ()), (doc.get("metadata") or {}).get("continue", "")


async def list_objects(client: Any, path: str, params: dict | None = None) -> list[dict]:
    """LIST a collection as raw objects (for bodies written back), following ``continue`` tokens."""
    query = dict(params or {}, limit=PAGE)
    items: list[dict] = []
    while True:
        doc = await client.list(path, query)
        items += doc.get("items") or []
        token = (doc.get("metadata") or {}).get("continue", "")
        if not token:
            return items
        query["continue"] = token


async def get_object(client: Any, record_type: type[R], path: str) -> tuple[dict, R]:
    """GET one object as raw JSON (to write back) and as its record (to read)."""
    raw = await client.get(path)
    return raw, as_record(record_type, raw)


def list_items(listing: dict) -> list[dict]:
    """The raw objects of one list answer (its ``items``)."""
    return list(listing.get("items") or ())
