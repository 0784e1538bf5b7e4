"""``engines/`` holds renderers and their maths: no module in it may import the pipeline (``realtime``)."""

import ast
from pathlib import Path

ENGINES = Path(__file__).resolve().parents[2] / "engines"
FORBIDDEN = "realtime"


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every import in ``tree``, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return sorted(found)


def pipeline_imports(root: Path) -> list[str]:
    """'path:line module' for each import of the pipeline package under ``root``."""
    return [
        f"{path.relative_to(root.parent)}:{line} {module}"
        for path in sorted(root.rglob("*.py"))
        for line, module in _imported_modules(ast.parse(path.read_text(), filename=str(path)))
        if module == FORBIDDEN or module.startswith(FORBIDDEN + ".")
    ]


def test_engines_never_import_the_pipeline():
    assert pipeline_imports(ENGINES) == []


def test_the_check_sees_nested_and_from_imports(tmp_path):
    package = tmp_path / "engines"
    (package / "sub").mkdir(parents=True)
    (package / "ok.py").write_text("import realtimex\nfrom engines.base import Motion\n")
    (package / "sub" / "bad.py").write_text(
        "def f():\n    from realtime.offline import load_portrait\n\nimport realtime\n"
    )
    assert pipeline_imports(package) == [
        "engines/sub/bad.py:2 realtime.offline",
        "engines/sub/bad.py:4 realtime",
    ]
