"""Small helpers to build and inspect Kubernetes objects as plain JSON dicts."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from typing import Any, Iterable

# The alphabet Kubernetes uses for generated name suffixes and pod-template-hash values
# (k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits).
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
TEMPLATE_HASH = "pod-template-hash"
MIRROR = "kubernetes.io/config.mirror"

_rng = random.Random()


def iso(ts: datetime) -> str:
    """Timestamp as the API server renders metav1.Time (second precision)."""
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_iso(ts: datetime) -> str:
    """Timestamp as metav1.MicroTime (Lease renewTime, events.k8s.io eventTime)."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def backdate(obj: dict, now: datetime, days: float) -> dict:
    """Set an older creationTimestamp (``days`` before ``now``) on an object about to be created."""
    if days:
        obj.setdefault("metadata", {})["creationTimestamp"] = iso(now - timedelta(days=days))
    return obj


def rand_suffix(n: int = 5) -> str:
    """A random generated-name suffix like the API server's generateName."""
    return "".join(_rng.choices(SAFE_ALPHABET, k=n))


def fake_digest(text: str) -> str:
    """A stable sha256 digest for an image reference (used as imageID)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def new_uid() -> str:
    """A random RFC 4122 style uid (not cryptographic: it only has to be unique)."""
    h = f"{_rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def key_of(obj: dict) -> tuple[str, str]:
    """(namespace, name) of an object; cluster-scoped objects get namespace ''."""
    meta = obj["metadata"]
    return meta.get("namespace", "") or "", meta["name"]


def owner_ref(owner: dict, controller: bool = True) -> dict:
    """An ownerReference pointing at ``owner`` as the real controllers write it."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: dict) -> dict | None:
    """The controller ownerReference of ``obj``, if any."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def normalise(value: Any) -> Any:
    """Drop nulls, empty maps and empty lists recursively.

    Templates that went through Go serialisation (``creationTimestamp: null``,
    ``resources: {}``) must hash and compare equal to the ones we stored, or
    ``kubectl rollout undo`` would create a new ReplicaSet instead of reusing the old one.
    """
    if isinstance(value, dict):
        out = {k: normalise(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def template_hash(template: dict) -> str:
    """Stable pod-template-hash for a (defaulted) pod template, ignoring the hash label."""
    from cockpit.sim.defaults import default_pod_template  # local import: defaults imports us

    tpl = json.loads(json.dumps(template))
    labels = (tpl.get("metadata") or {}).get("labels") or {}
    labels.pop(TEMPLATE_HASH, None)
    default_pod_template(tpl)
    blob = json.dumps(normalise(tpl), sort_keys=True, separators=(",", ":"))
    number = int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big")
    chars = []
    for _ in range(10):
        number, idx = divmod(number, len(SAFE_ALPHABET))
        chars.append(SAFE_ALPHABET[idx])
    return "".join(chars)


def condition(obj: dict, ctype: str) -> dict | None:
    """The status condition of type ``ctype``, if present."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond
    return None


def pod_is_ready(pod: dict) -> bool:
    """Ready condition True."""
    cond = condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def pod_is_active(pod: dict) -> bool:
    """Counted by a ReplicaSet: not terminating and not in a terminal phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def set_condition(conds: list[dict], new: dict, now: str) -> None:
    """Insert or update a condition; lastTransitionTime only moves when status flips."""
    for i, cond in enumerate(conds):
        if cond["type"] != new["type"]:
            continue
        merged = {**cond, **new}
        if cond.get("status") != new.get("status") or "lastTransitionTime" not in cond:
            merged["lastTransitionTime"] = now
        conds[i] = merged
        return
    conds.append({**new, "lastTransitionTime": now})


def tolerates(tolerations: Iterable[dict] | None, taint: dict) -> bool:
    """True if one of the tolerations tolerates ``taint`` (key/operator/value/effect)."""
    for tol in tolerations or ():
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        op = tol.get("operator", "Equal")
        if not tol.get("key"):
            if op == "Exists":
                return True
            continue
        if tol["key"] != taint.get("key"):
            continue
        if op == "Exists" or tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """Resolve an IntOrString such as 25% against ``total`` (Kubernetes rounding rules)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = int(text[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(text)
