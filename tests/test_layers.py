"""Layer rules (docs/ARCHITECTURE.md): core <- store <- ingest <- app <- cli / tui, for every module of the
package. Checked on the source, and at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "musicrec_tui"

# what each layer may import from inside the package (its own layer is always allowed); every module is listed
ALLOWED = {
    "core": set(),
    "store": {"core"},
    "playback": {"core"},
    "config": {"core", "store"},
    "textfmt": {"core"},
    "ingest": {"core", "store", "config"},
    "app": {"core", "store", "ingest", "playback", "config", "textfmt"},
    "cli": {"core", "store", "ingest", "playback", "config", "textfmt", "app", "tui", "web", "__version__"},
    "tui": {"core", "store", "ingest", "playback", "config", "textfmt", "app"},
    # the web face: the API over the application layer; each browser tab's process runs the TUI (web/child.py)
    "web": {"core", "store", "playback", "config", "app", "tui", "__version__"},
}
ENTRY = {"__init__.py", "__main__.py"}  # the package's version and `python -m musicrec_tui` (= cli.main)


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of the outside packages a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
    return found


def test_every_module_belongs_to_a_layer() -> None:
    tops = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
            if (p.suffix == ".py" and p.name not in ENTRY) or (p.is_dir() and (p / "__init__.py").exists())}
    assert tops == set(ALLOWED)


def test_only_the_tui_imports_textual() -> None:
    offenders = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
                 if p.relative_to(PACKAGE).parts[0] != "tui" and third_party_imports(p) & {"textual", "rich"}]
    assert offenders == []


def internal_imports(path: Path) -> set[str]:
    """Top-level subpackages/modules of musicrec_tui that a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PACKAGE).parts
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("musicrec_tui."):
                    found.add(node.module.split(".")[1])
                continue
            base = list(rel[:-1])[: len(rel) - node.level]
            target = [*base, *(node.module.split(".") if node.module else [])]
            if target:
                found.add(target[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("musicrec_tui."))
    return {f.removesuffix(".py") for f in found}


def test_layers_import_only_downwards() -> None:
    problems = []
    for layer, allowed in ALLOWED.items():
        files = [PACKAGE / f"{layer}.py"] if (PACKAGE / f"{layer}.py").exists() else \
            sorted((PACKAGE / layer).rglob("*.py"))
        assert files, layer
        for path in files:
            bad = internal_imports(path) - allowed - {layer, "__init__"}
            if bad:
                problems.append(f"{path.relative_to(PACKAGE)} imports {sorted(bad)}")
    assert problems == []


def test_headless_code_never_loads_textual_or_librosa() -> None:
    code = ("import sys\n"
            "import musicrec_tui.cli, musicrec_tui.app.recommend, musicrec_tui.app.factory, musicrec_tui.app.doctor\n"
            "import musicrec_tui.app.services\n"
            "import musicrec_tui.ingest.pipeline, musicrec_tui.playback, musicrec_tui.core.features\n"
            "from musicrec_tui.core import features\n"
            "features.available()\n"
            "print(sorted(m for m in ('textual', 'librosa', 'numba') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
