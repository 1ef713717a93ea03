"""The code stays in pieces a reader can hold: no function in lstm_cli/ longer than 80 lines, no class
longer than 250, unless a comment says why.

The comment goes on the line just above the `def` or `class` (or above its decorators), or on the first
line of its body, and contains "longer because": `# longer because the cell is clearer in one piece`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lstm_cli"
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 250
REASON = "longer because"


def has_reason(lines: list[str], number: int) -> bool:
    """Whether line `number` (counted from 1) holds a comment that gives the reason."""
    if not 1 <= number <= len(lines):
        return False
    _, hash_sign, comment = lines[number - 1].partition("#")
    return bool(hash_sign) and REASON in comment


def too_long(path: Path, root: Path) -> list[str]:
    """Each function or class in `path` over its limit without a reason, as `FILE:LINE KIND NAME: N lines`
    with FILE relative to `root`."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.ClassDef):
            limit = MAX_CLASS_LINES
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            limit = MAX_FUNCTION_LINES
        else:
            continue
        assert node.end_lineno is not None
        length = node.end_lineno - node.lineno + 1
        if length <= limit:
            continue
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        body = node.body[0].lineno
        if any(has_reason(lines, number) for number in (first - 1, node.lineno - 1, body - 1, body)):
            continue
        found.append(
            f"{path.relative_to(root)}:{node.lineno} {type(node).__name__} {node.name}: {length} lines"
        )
    return found


def test_a_reason_counts_above_the_definition_or_its_decorators_or_on_its_first_line(tmp_path: Path) -> None:
    body = "\n".join(f"    x = {n}" for n in range(MAX_FUNCTION_LINES))  # 81 lines with the def
    (tmp_path / "probe.py").write_text(
        f"def plain():\n{body}\n"  # line 1
        f"# longer because it is a table\ndef above():\n{body}\n"  # def on line 83
        f"# longer because of the decorator\n@staticmethod\ndef decorated():\n{body}\n"  # def on 166
        f"def inside():\n    # longer because one step reads best whole\n{body}\n"  # def on line 247
        f"@staticmethod\ndef unexplained():  # a comment, but no reason\n{body}\n",  # def on line 330
        encoding="utf-8",
    )
    assert too_long(tmp_path / "probe.py", tmp_path) == [
        "probe.py:1 FunctionDef plain: 81 lines",
        "probe.py:330 FunctionDef unexplained: 81 lines",
    ]


def test_no_function_or_class_in_the_package_is_too_long_without_a_reason() -> None:
    found = [entry for path in sorted(PACKAGE.rglob("*.py")) for entry in too_long(path, PACKAGE.parent)]
    assert found == [], "\n".join(found)
