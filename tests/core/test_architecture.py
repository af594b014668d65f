"""The shape of the package: imports run one way, from the edges down (DESIGN §2), and no
module is so long that it does several things."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "outreach"

# From the top down. A module may import its own package or any package in a lower layer;
# packages of one layer never import each other (cross-slice calls go down, to services).
LAYERS: list[set[str]] = [
    {"app"},  # outreach/__init__.py, cli.py, app_routes.py, shell.py, demo.py
    {"jobs"},
    {"sync", "caseload", "reports", "retention"},
    {"pathways"},  # below reports, which publish its measures
    {"interventions"},
    {"people"},
    {"org", "auth"},
    {"records"},
    {"audit"},
    {"access"},
    {"core"},
]
LAYER = {package: depth for depth, packages in enumerate(LAYERS) for package in packages}
MAX_LINES = 400


def _package_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "app"


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((module, path))
    return out


def _imports(path: Path) -> set[str]:
    """Every outreach module named by an import anywhere in the file (function-level
    imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("outreach"):
            if node.module == "outreach":
                found.update(f"outreach.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("outreach"))
    return found


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - set(LAYER) == set(), "place the new package in LAYERS"


def test_imports_run_one_way():
    wrong = {}
    for module, path in _modules():
        source = _package_of(module)
        bad = sorted(
            target
            for target in _imports(path)
            if _package_of(target) != source and LAYER[_package_of(target)] <= LAYER[source]
        )
        if bad:
            wrong[f"{module} ({source})"] = bad
    assert not wrong, f"imports upward or sideways: {wrong}"


def test_no_module_is_too_long():
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for _module, path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
