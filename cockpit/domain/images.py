"""Container image references: the one parser used by the domain, the controllers and the UI.

The grammar is the container runtimes' (distribution reference): ``[registry/]path[:tag][@digest]``.
The first path component is a registry only when it looks like a host: it contains a ``.`` or
a ``:`` (a port), or is ``localhost``; so ``host:5000/web`` has no tag and ``team/web:1.0``
has no registry. A reference with neither tag nor digest means ``:latest``; with a digest the
digest is what runs and the tag (if any) is only a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_REGISTRY = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                       r"|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")
_MAX_LENGTH = 512
DEFAULT_TAG = "latest"


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference. ``registry``, ``tag`` and ``digest`` are "" when not given."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """Parse ``[registry/]path[:tag][@digest]``; raises ValueError naming what is wrong."""
        if not isinstance(text, str) or not text or len(text) > _MAX_LENGTH:
            raise ValueError(f"invalid image reference {str(text)[:80]!r}: empty or too long")
        try:
            return _parse(text)
        except ValueError as exc:
            raise ValueError(f"invalid image reference {text!r}: {exc}") from None

    @property
    def name(self) -> str:
        """``registry/repository`` (what a tag or digest is attached to)."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def effective_tag(self) -> str:
        """The tag a runtime pulls: the explicit one, ``latest`` when neither tag nor digest."""
        return self.tag or ("" if self.digest else DEFAULT_TAG)

    @property
    def short(self) -> str:
        """The last path component with its tag (or a 12-hex digest): ``web:1.4.0``, ``web@sha256:0123456789ab``."""
        last = self.repository.rpartition("/")[2]
        if self.tag:
            return f"{last}:{self.tag}"
        if self.digest:
            algorithm, _, hex_part = self.digest.partition(":")
            return f"{last}@{algorithm}:{hex_part[:12]}"
        return last

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.name}{tag}{digest}"


def _parse(text: str) -> ImageRef:
    rest, at, digest = text.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        raise ValueError(f"digest {digest!r} is not algorithm:hex")
    registry, path = _split_registry(rest)
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    tag = ""
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise ValueError(f"tag {tag!r} is not letters, digits, '_', '.' or '-' (at most 128)")
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            raise ValueError(f"repository component {component!r} is not lowercase letters, digits and separators")
    return ImageRef(registry, path, tag, digest)


def _split_registry(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        return "", text
    if not _REGISTRY.fullmatch(first):
        raise ValueError(f"registry {first!r} is not a host[:port]")
    return first, rest


def parse_image(text: str) -> ImageRef:
    """:meth:`ImageRef.parse` as a function."""
    return ImageRef.parse(text)


def image_tag(image: str) -> str:
    """The explicit tag of ``image`` (``registry.k8s.io/kube-apiserver:v1.33.1`` -> ``v1.33.1``);
    "" when it has none or is not a valid reference."""
    try:
        return ImageRef.parse(image).tag
    except ValueError:
        return ""


def short_image(image: str) -> str:
    """For narrow columns: ``registry.example/team/web:1.4.0`` -> ``web:1.4.0``; the text's
    last path element when it does not parse (the display never hides what the API said)."""
    try:
        return ImageRef.parse(image).short
    except ValueError:
        return image.rsplit("/", 1)[-1]
