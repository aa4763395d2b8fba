"""Request bodies as the apiserver accepts them: JSON, YAML and Kubernetes protobuf."""

from __future__ import annotations

import msgspec
import yaml

from cockpit.sim.api.protobody import decode_object, is_protobuf
from cockpit.sim.api.protowire import WireError
from cockpit.sim.errors import ApiError, bad_request
from cockpit.sim.store import decode

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


def decode_body(body: bytes, content_type: str):
    """The body's value (None when empty); 400 when it does not parse, 415 for an unknown type."""
    if not body:
        return None
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if is_protobuf(media):
        return _protobuf(body)
    if media in _YAML_TYPES:
        return _yaml(body)
    if media.endswith("json") or media in ("*/*", "text/plain", "application/octet-stream"):
        return _json(body)
    raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted '
                   f'media types include: application/json, application/yaml, {media!r} is not supported')


def _json(body: bytes):
    try:
        return decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from None


def _yaml(body: bytes):
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise bad_request(f"error converting YAML to JSON: {exc}") from None


def _protobuf(body: bytes) -> dict:
    try:
        return decode_object(body)
    except (WireError, UnicodeDecodeError, KeyError) as exc:
        raise bad_request(f"failed to decode the protobuf body: {exc}") from None
