"""The layering rules of ARCHITECTURE.md, checked in fresh interpreters.

A subprocess per check, so that modules imported by other tests cannot hide a violation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "cockpit"
HEADLESS_LAYERS = ["domain", "kube", "ssh", "controllers", "journal", "sim", "commands.rollout", "commands.nodes", "commands.session"]


def _modules_of(layer: str) -> list[str]:
    """Every importable module of a layer (a package or a single module)."""
    path = PACKAGE_ROOT / layer.replace(".", "/")
    if path.with_suffix(".py").exists():
        return [f"cockpit.{layer}"]
    return [
        "cockpit." + ".".join(p.relative_to(PACKAGE_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted(path.rglob("*.py"))
    ]


def _imported_after(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys, json\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("layer", HEADLESS_LAYERS)
def test_headless_layers_never_import_textual(layer: str) -> None:
    """domain, kube, ssh, controllers, journal, sim and the headless CLIs run without Textual."""
    modules = _modules_of(layer)
    if not modules:
        pytest.skip(f"no modules in {layer}")
    loaded = _imported_after(modules)
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded), f"{layer} imports textual"


def test_ui_never_imports_the_simulator() -> None:
    """Only cli.py and commands/ wire the demo together; the UI talks to any API server."""
    loaded = _imported_after(_modules_of("ui"))
    assert not any(m.startswith("cockpit.sim") for m in loaded), "cockpit.ui imports cockpit.sim"
