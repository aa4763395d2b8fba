"""Request bodies in Kubernetes' protobuf encoding, decoded to the JSON form the store keeps.

kubectl 1.32 and later send built-in kinds as ``application/vnd.kubernetes.protobuf`` (typed
clients default to it and cannot fall back to JSON for a request body), so the simulator has to
read them. A body is the 4-byte magic ``k8s\\0`` and a ``runtime.Unknown`` whose ``raw`` holds
the object; field tables come from :mod:`cockpit.sim.api.protoschema`.

Go writes non-pointer zero values (``""``, ``0``, ``false``) on the wire where its JSON encoder
would omit them, and the wire does not tell a pointer from a value, so zero values are dropped
except for the few fields in which 0 means something (``replicas: 0``, ``gracePeriodSeconds: 0``).
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime

from cockpit.sim.api.protoschema import MESSAGES
from cockpit.sim.api.protowire import WireError, fields, packed_varints, signed64

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
# Pointer fields whose 0 differs from "unset" (the server would otherwise default them).
KEEP_ZERO = frozenset({
    "replicas", "parallelism", "completions", "backoffLimit", "terminationGracePeriodSeconds",
    "gracePeriodSeconds", "activeDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit",
    "ttlSecondsAfterFinished", "revisionHistoryLimit", "startingDeadlineSeconds", "partition", "value",
    "exitCode", "restartCount", "backoffLimitPerIndex", "maxFailedIndexes", "minReadySeconds",
})
_ZERO_TIME = -62135596800  # Go's time.Time{} in Unix seconds


def is_protobuf(content_type: str) -> bool:
    """True for Kubernetes' protobuf media type."""
    return content_type.split(";")[0].strip() == MEDIA_TYPE


def decode_object(body: bytes) -> dict:
    """The object in a protobuf request body, with ``kind`` and ``apiVersion``; WireError when invalid."""
    if not body.startswith(MAGIC):
        raise WireError("missing the k8s protobuf magic prefix")
    unknown = {n: v for n, _, v in fields(body[len(MAGIC):])}
    type_meta = {n: v.decode() for n, _, v in fields(unknown.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if unknown.get(3) or unknown.get(4, b"") not in (b"", MEDIA_TYPE.encode()):
        raise WireError("unsupported content encoding inside the protobuf envelope")
    obj = {"kind": kind, "apiVersion": api_version}
    obj.update(decode_message(unknown.get(2, b""), message_name(api_version, kind)))
    return obj


def message_name(api_version: str, kind: str) -> str:
    """The schema message of a kind: ``apps/v1`` Deployment -> ``apps.v1.Deployment``."""
    group, _, version = api_version.rpartition("/")
    package = f"{group.split('.')[0] or 'core'}.{version}"
    for name in (f"{package}.{kind}", f"meta.v1.{kind}"):
        if name in MESSAGES:
            return name
    raise WireError(f"no protobuf schema for {api_version} {kind}")


def decode_message(data: bytes, name: str):
    """One message as its JSON value (dict, or str/int for the wrapper types)."""
    special = _SPECIAL.get(name)
    if special is not None:
        return special({n: v for n, _, v in fields(data)})
    table = MESSAGES[name]
    out: dict = {}
    present: set[str] = set()
    for number, wire, value in fields(data):
        spec = table.get(number)
        if spec is None:
            continue  # a field newer than the schema: the JSON decoder would drop it too
        json_name, code, type_name = spec
        if code[0] == "*":
            out.setdefault(json_name, []).extend(_repeated(code[1:], type_name, wire, value))
        elif code[0] == "{":
            key, item = _map_entry(code[1:], type_name, value)
            out.setdefault(json_name, {})[key] = item
        else:
            out[json_name] = _scalar(code, type_name, value)
            if code == "m" and _present(type_name, out[json_name]):
                present.add(json_name)
    return {k: v for k, v in out.items() if k in present or not _omitted(k, v)}


def _present(type_name: str, value) -> bool:
    """A message field on the wire was set; keep it unless it is an empty struct Go always writes.

    Volume sources are pointers whose mere presence matters (``emptyDir: {}``).
    """
    return value is not None and (value != {} or type_name.endswith("VolumeSource"))


def _omitted(key: str, value) -> bool:
    if value is None or value == "" or value == [] or value == {} or value is False:
        return True
    return type(value) is int and value == 0 and key not in KEEP_ZERO


def _repeated(code: str, type_name: str, wire: int, value) -> list:
    if wire == 2 and code in "iuzb":
        return [_scalar(code, type_name, v) for v in packed_varints(value)]
    return [_scalar(code, type_name, value)]


def _map_entry(code: str, type_name: str, data: bytes) -> tuple[str, object]:
    entry = {n: v for n, _, v in fields(data)}
    key = entry.get(1, b"").decode()
    if 2 not in entry:
        return key, "" if code == "s" else None
    return key, _scalar(code, type_name, entry[2])


def _scalar(code: str, type_name: str, value):
    if code == "s":
        return value.decode()
    if code == "i":
        return signed64(value)
    if code == "u":
        return value
    if code == "z":
        return (value >> 1) ^ -(value & 1)
    if code == "b":
        return bool(value)
    if code == "y":
        return base64.b64encode(value).decode()
    if code == "d":
        return struct.unpack("<d", value.to_bytes(8, "little"))[0]
    if code == "f":
        return struct.unpack("<f", value.to_bytes(4, "little"))[0]
    return decode_message(value, type_name)


def _time(f: dict, fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> str | None:
    seconds = signed64(f.get(1, 0))
    if not f or seconds == _ZERO_TIME:  # Go marshals time.Time{} as an empty message
        return None
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=f.get(2, 0) // 1000)
    return moment.strftime(fmt)


def _duration(f: dict) -> str:
    nanos = signed64(f.get(1, 0))
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def _int_or_string(f: dict):
    return f.get(3, b"").decode() if f.get(1) == 1 else signed64(f.get(2, 0))


def _raw_json(f: dict):
    raw = f.get(1, b"")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return base64.b64encode(raw).decode()


def leaf_types() -> frozenset[str]:
    """Messages whose JSON form is a scalar or free-form (timestamps, IntOrString, Quantity, raw JSON)."""
    return _LEAVES


_SPECIAL = {
    "meta.v1.Time": _time,
    "meta.v1.MicroTime": lambda f: _time(f, "%Y-%m-%dT%H:%M:%S.%fZ"),
    "meta.v1.Duration": _duration,
    "util.intstr.IntOrString": _int_or_string,
    "api.resource.Quantity": lambda f: f.get(1, b"").decode(),
    "runtime.RawExtension": _raw_json,
    "meta.v1.FieldsV1": _raw_json,
}
_LEAVES = frozenset(_SPECIAL)
