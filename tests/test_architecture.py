"""The layering rules of ARCHITECTURE.md, checked by reading the source (deferred imports too).

Every ``import``/``from ... import`` anywhere in a module counts, including those inside
functions, because a deferred import is still a dependency. A second check imports the headless
layers in a fresh interpreter and asserts Textual never gets loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "cockpit"

# Higher numbers may import lower ones, never the other way round. Layers of the same rank are
# siblings and may not import each other (kube, ssh and metrics are independent).
RANK = {
    "errors": 0, "domain": 1, "journal": 2, "kube": 3, "ssh": 3, "metrics": 3,
    "controllers": 4, "ui": 5, "cli": 6, "__main__": 7,
}
# The simulator stands beside the product: it may use the pure domain logic and the errors.
SIM_MAY_IMPORT = {"sim", "domain", "errors"}
FORBIDDEN = {  # explicit rules on top of the ranks, each with its reason
    ("ui", "ssh"): "the UI reaches SSH only through controllers",
    ("ui", "cli"): "the UI never depends on the command line",
    ("ui", "sim"): "the UI talks to any API server, never to the simulator directly",
}
HEADLESS = [layer for layer in ("domain", "kube", "ssh", "metrics", "controllers", "journal", "sim", "errors")
            if (PACKAGE_ROOT / layer).exists() or (PACKAGE_ROOT / f"{layer}.py").exists()]


def layer_of(module: str) -> str:
    """``cockpit.ui.panes.nodes`` -> ``ui``; modules outside cockpit -> ``""``."""
    parts = module.split(".")
    return parts[1] if parts[0] == "cockpit" and len(parts) > 1 else ""


def module_name(path: Path) -> str:
    """The dotted module name of a file under the package."""
    relative = path.relative_to(PACKAGE_ROOT.parent).with_suffix("")
    return ".".join(relative.parts).removesuffix(".__init__")


def imports_of(source: str, module: str) -> set[str]:
    """Every module ``source`` imports, at any depth (relative imports resolved against ``module``)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(layer: str, imported: set[str]) -> list[str]:
    """Why the imports of a module in ``layer`` break the rules (empty when they don't)."""
    problems = []
    for target in sorted({layer_of(name) for name in imported} - {"", layer}):
        if (layer, target) in FORBIDDEN:
            problems.append(f"{layer} -> {target}: {FORBIDDEN[(layer, target)]}")
        elif layer == "sim":
            if target not in SIM_MAY_IMPORT:
                problems.append(f"sim -> {target}: the simulator uses only domain and errors")
        elif target == "sim" and layer != "cli":
            problems.append(f"{layer} -> sim: only the CLI wires the simulator in")
        elif target in RANK and RANK.get(layer, 99) <= RANK[target]:
            problems.append(f"{layer} -> {target}: imports point downwards only")
    return problems


def package_violations() -> dict[str, list[str]]:
    """Every module of the package with its violations."""
    found = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        module = module_name(path)
        problems = violations(layer_of(module), imports_of(path.read_text(encoding="utf-8"), module))
        if problems:
            found[module] = problems
    return found


def test_the_package_follows_the_layers() -> None:
    assert package_violations() == {}


def test_a_deferred_ui_to_ssh_import_is_caught() -> None:
    """Adding ``import cockpit.ssh.pool`` inside a UI function breaks the rules (the check sees it)."""
    source = (PACKAGE_ROOT / "ui" / "app.py").read_text(encoding="utf-8")
    sabotaged = source + "\n\ndef _later():\n    from cockpit.ssh.pool import SshPool\n    return SshPool\n"
    problems = violations("ui", imports_of(sabotaged, "cockpit.ui.app"))
    assert problems == ["ui -> ssh: the UI reaches SSH only through controllers"]


@pytest.mark.parametrize(("layer", "target"), [
    ("domain", "kube"), ("kube", "controllers"), ("controllers", "ui"), ("ui", "cli"), ("sim", "controllers"),
    ("kube", "ssh"), ("controllers", "sim"),
])
def test_upward_and_sideways_imports_are_caught(layer: str, target: str) -> None:
    assert violations(layer, {f"cockpit.{target}.anything"})


def test_relative_imports_are_resolved() -> None:
    assert "cockpit.ssh.pool" in imports_of("from ..ssh import pool\n", "cockpit.ui.app")


def _loaded_after_importing(modules: list[str]) -> set[str]:
    code = ("import importlib, json, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("layer", HEADLESS)
def test_headless_layers_never_load_textual(layer: str) -> None:
    """domain, kube, ssh, controllers, journal and sim run without Textual (a fresh interpreter)."""
    path = PACKAGE_ROOT / layer
    files = [path.with_suffix(".py")] if path.with_suffix(".py").exists() else sorted(path.rglob("*.py"))
    modules = [module_name(f) for f in files]
    loaded = _loaded_after_importing(modules)
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded), f"{layer} loads textual"


RAW_FIELDS = {"metadata", "spec", "status", "items"}
# The kube boundary decodes raw JSON; the simulator is a server; metrics reads Prometheus answers,
# whose "status"/"data" are not Kubernetes objects.
RAW_READERS = {"kube", "sim", "metrics"}


def raw_reads(source: str) -> list[int]:
    """Lines that read a raw Kubernetes object: ``obj["spec"]`` or ``obj.get("metadata")`` as a value.

    Building a body to write back (``body["spec"] = ...``) is allowed: only loads count.
    """
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
            if isinstance(key, ast.Constant) and key.value in RAW_FIELDS:
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in RAW_FIELDS:
                lines.append(node.lineno)
    return lines


def test_only_the_kube_layer_reads_raw_kubernetes_objects() -> None:
    offenders = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        module = module_name(path)
        if layer_of(module) in RAW_READERS or module in ("cockpit.domain.records", "cockpit.domain._convert"):
            continue
        lines = raw_reads(path.read_text(encoding="utf-8"))
        if lines:
            offenders[module] = lines
    assert offenders == {}


def test_a_raw_read_outside_the_kube_layer_is_caught() -> None:
    assert raw_reads('def f(pod):\n    return pod["metadata"]["name"]\n') == [2]
    assert raw_reads('def f(pod):\n    return (pod.get("spec") or {}).get("nodeName")\n') == [2]
    assert raw_reads('def f(body):\n    body["spec"] = {"unschedulable": True}\n') == []
