"""The architecture's rules, checked on the source (docs/architecture.md, README's map).

* Dependencies between the parts: ``core`` imports none of the others; ``voice`` uses
  ``core``; ``kiosk`` uses ``core`` and ``voice``; ``sync`` uses ``core``; only ``cli``
  wires them together. Only ``kiosk`` (and ``cli``, which starts it) import Kivy. Every
  import counts, including the lazy ones inside functions.
* No SQL on core's tables outside core: front ends and sync call core functions. The
  store's raw query helpers (``Store.one``, ``Store.all``, ``Store.db``) are core's own;
  the hub's SQL lives in ``sync/hub/storage*.py`` over its own tables.
* Every module is on README's architecture map.

Each failure names the file and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("core", "voice", "kiosk", "sync", "cli")
# What each part may import of the others (cli: anything).
ALLOWED = {
    "core": set(),
    "voice": {"core"},
    "kiosk": {"core", "voice"},
    "sync": {"core"},
    "cli": set(PARTS),
}
KIVY_ALLOWED = {"kiosk", "cli"}
# The store's raw query helpers, and the sqlite connection methods behind them.
RAW_CALLS = {"one", "all", "execute", "executemany", "executescript", "query"}
RAW_ATTRS = {"db", "conn"}   # ``x.db.<anything>``: reaching through to the connection


def _sources(part: str):
    yield from sorted((ROOT / part).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path):
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield node.lineno, name


def test_parts_import_only_what_the_dependency_rule_allows():
    problems = []
    for part in PARTS:
        for path in _sources(part):
            for line, name in _imports(path):
                top = name.split(".")[0]
                if top in PARTS and top != part and top not in ALLOWED[part]:
                    problems.append(f"{_rel(path)}:{line}: {part} imports {name} "
                                    f"({part} may use {', '.join(sorted(ALLOWED[part])) or 'no other part'})")
                if top == "kivy" and part not in KIVY_ALLOWED:
                    problems.append(f"{_rel(path)}:{line}: {part} imports {name} "
                                    "(only the kiosk uses Kivy)")
    assert not problems, "dependency rule broken:\n" + "\n".join(problems)


def _core_tables() -> set[str]:
    text = (ROOT / "core" / "schema.py").read_text(encoding="utf-8")
    return set(re.findall(r"CREATE TABLE (\w+)", text))


def _sql_exempt(path: Path) -> bool:
    rel = _rel(path)
    return rel.startswith("core/") or re.fullmatch(r"sync/hub/storage\w*\.py", rel) is not None


def test_core_tables_are_touched_only_by_core():
    tables = _core_tables()
    assert {"journal", "audit", "ledger", "member", "consent", "meta"} <= tables
    sql = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(\w+)")
    problems = []
    for part in PARTS:
        if part == "core":
            continue
        for path in _sources(part):
            if _sql_exempt(path):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr in RAW_CALLS:
                    problems.append(f"{_rel(path)}:{node.lineno}: raw query "
                                    f".{node.func.attr}(...): call a core function instead")
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                        and node.value.attr in RAW_ATTRS:
                    problems.append(f"{_rel(path)}:{node.lineno}: reaches into "
                                    f".{node.value.attr}.{node.attr}: call a core function instead")
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    named = {t for t in sql.findall(node.value) if t in tables}
                    if named:
                        problems.append(f"{_rel(path)}:{node.lineno}: SQL on core's table(s) "
                                        f"{', '.join(sorted(named))}")
    assert not problems, "SQL on core's tables outside core:\n" + "\n".join(problems)


def test_readme_map_names_every_module():
    """Each module of core, voice, kiosk and sync appears on README's map by its name
    (``store.py``, or ``rtp`` on the SIP stack's line); the kiosk's screens are one line
    (one .py + .kv each, listed in kiosk/screens/__init__.py)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Architecture map")
    block = readme[start:readme.index("```", readme.index("```", start) + 3)]
    # Each part's lines: from "core/ ..." to the next top-level folder.
    sections = dict(re.findall(r"^(\w+)/ +(.*?)(?=^\w+/ |\Z)", block, re.M | re.S))
    missing = []
    for part in ("core", "voice", "kiosk", "sync"):
        section = sections.get(part, "")
        for path in _sources(part):
            rel = path.relative_to(ROOT)
            if path.name == "__init__.py" or rel.parts[:2] == ("kiosk", "screens"):
                continue
            if not re.search(rf"(?<![\w.]){re.escape(path.stem)}(?:\.py)?\b", section):
                missing.append(_rel(path))
    assert not missing, "modules missing from README's architecture map: " + ", ".join(missing)


def test_a_module_name_means_one_thing():
    """No two modules of a part share a name (no ``kiosk/receipt.py`` beside
    ``kiosk/screens/receipt.py``); a core module's name is reused only by the kiosk screen
    that shows it (``kiosk/screens/dues.py`` for ``core/dues.py``), not for something else
    (``core/audit.py`` is the hash chain, the usability rules are ``kiosk/usability.py``);
    a script is not named like a module (one ``screenshots`` module)."""
    stems: dict[str, list[str]] = {}
    for part in (*PARTS, "scripts"):
        for path in _sources(part):
            if path.name not in ("__init__.py", "__main__.py"):
                stems.setdefault(path.stem, []).append(_rel(path))
    clashes = []
    for stem, paths in sorted(stems.items()):
        tops = [p.split("/")[0] for p in paths]
        if len(set(tops)) < len(tops):
            clashes.append(" and ".join(paths) + " (same part)")
        if "core" in tops and any(p not in (f"core/{stem}.py", f"kiosk/screens/{stem}.py")
                                  for p in paths):
            clashes.append(" and ".join(paths) + " (a core name used for something else)")
        if "scripts" in tops and len(paths) > 1:
            clashes.append(" and ".join(paths) + " (a script named like a module)")
    assert not clashes, "modules sharing a name:\n" + "\n".join(clashes)
