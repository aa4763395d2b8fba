"""The one image-reference parser: registry/host:port, path, tag, digest, the latest rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.domain.images import ImageRef, image_tag, parse_image, short_image

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, registry, repository, tag, digest", [
    ("nginx", "", "nginx", "", ""),
    ("nginx:1.27", "", "nginx", "1.27", ""),
    ("team/web:1.4.0", "", "team/web", "1.4.0", ""),
    ("registry.k8s.io/kube-apiserver:v1.33.1", "registry.k8s.io", "kube-apiserver", "v1.33.1", ""),
    ("host:5000/kube-apiserver", "host:5000", "kube-apiserver", "", ""),
    ("host:5000/team/web:2", "host:5000", "team/web", "2", ""),
    ("localhost/web", "localhost", "web", "", ""),
    ("[::1]:5000/web:dev", "[::1]:5000", "web", "dev", ""),
    (f"web@{DIGEST}", "", "web", "", DIGEST),
    (f"registry.example/web:1.4.0@{DIGEST}", "registry.example", "web", "1.4.0", DIGEST),
    ("ghcr.io/org/sub/app_x:v1-rc.1", "ghcr.io", "org/sub/app_x", "v1-rc.1", ""),
])
def test_parse(text, registry, repository, tag, digest):
    ref = parse_image(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert str(ref) == text


def test_latest_is_the_default_tag_only_without_a_digest():
    assert ImageRef.parse("nginx").effective_tag == "latest"
    assert ImageRef.parse(f"nginx@{DIGEST}").effective_tag == ""
    assert ImageRef.parse(f"nginx:1@{DIGEST}").effective_tag == "1"
    assert image_tag("nginx") == ""


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("Web:1", "repository component"),
    ("web:", "tag"),
    ("web:-x", "tag"),
    ("web@sha256:xyz", "digest"),
    ("web@", "digest"),
    ("a//b", "repository component"),
    ("bad_host.:5000/web", "registry"),
    ("web:1 2", "tag"),
])
def test_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        ImageRef.parse(text)


def test_tag_and_short_forms():
    assert image_tag("registry.k8s.io/kube-apiserver:v1.33.1") == "v1.33.1"
    assert image_tag(f"registry.k8s.io/kube-apiserver:v1.33.1@{DIGEST}") == "v1.33.1"
    assert image_tag("host:5000/kube-apiserver") == ""
    assert image_tag("NOT VALID") == ""
    assert short_image("registry.example/team/web:1.4.0") == "web:1.4.0"
    assert short_image(f"registry.example/web@{DIGEST}") == "web@sha256:abababababab"
    assert short_image("Weird/Thing:x") == "Thing:x"
    assert parse_image("registry.example/team/web:1").name == "registry.example/team/web"


@settings(derandomize=True, max_examples=300)
@given(st.text(alphabet="ab:/@.-_5A[]", max_size=30))
def test_arbitrary_text_only_raises_value_error(text):
    try:
        ref = ImageRef.parse(text)
    except ValueError:
        return
    assert ImageRef.parse(str(ref)) == ref
