"""The layers stay apart: ``linkpatrol/`` (the shared model) knows neither Scrapy nor Flask nor the
packages built on it, ``web/`` never touches a raw Redis client or a key of the store, and ``crawler/``
knows nothing of the web app. Every import counts: ``import x``, ``from x import y``, relative ones,
those inside functions and ``importlib.import_module("x")`` with a literal name."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "linkpatrol": ("scrapy", "scrapy_redis", "twisted", "flask", "flask_wtf", "werkzeug", "rq", "crawler", "web"),
    "web": ("crawler",),
    "crawler": ("flask", "flask_wtf", "web"),
}
# web/ may import Redis's exception classes (linkpatrol.store.connection.REDIS_DOWN and RedisError are
# better), never the client.
REDIS_EXCEPTIONS = "redis.exceptions"
# A store's raw client or key layout reached from web/: the store's methods are the API.
RAW_STORE_ACCESS = (re.compile(r"\bstore\(\)\.(r|keys)\b"), re.compile(r"\.r\.(h|s|l|z|get|set|pipeline)"))
STORE_ATTRS = frozenset({"r", "keys"})


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # absolute, dotted
    names: tuple[str, ...] = ()  # what a ``from module import ...`` takes

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def describe(self) -> str:
        if self.names:
            return f"from {self.module} import {', '.join(self.names)}"
        return f"import {self.module}"


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _package_of(path: Path) -> list[str]:
    """The package a module lives in, as parts: ``web/jobs/views.py`` and ``web/jobs/__init__.py`` are
    both in ``["web", "jobs"]``."""
    return list(path.relative_to(ROOT).parent.parts)


def imports_in(path: Path, source: str | None = None) -> Iterator[Import]:
    source = path.read_text() if source is None else source
    tree = ast.parse(source, filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: one dot is the module's own package, each further dot one up
                base = _package_of(path)
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            yield Import(path, node.lineno, module, tuple(alias.name for alias in node.names))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"}))):
            yield Import(path, node.lineno, node.args[0].value)


def _is(module: str, banned: str) -> bool:
    return module == banned or module.startswith(banned + ".")


def layer_violations(package: str) -> list[str]:
    out = []
    for path in python_files(package):
        for imp in imports_in(path):
            for banned in FORBIDDEN[package]:
                if _is(imp.module, banned):
                    out.append(f"{imp.where()}: {imp.describe()} ({package}/ must not import {banned})")
    return out


def redis_import_violations(paths: list[Path]) -> list[str]:
    return redis_import_violations_in({path: path.read_text() for path in paths})


def redis_import_violations_in(sources: dict[Path, str]) -> list[str]:
    out = []
    for path, source in sources.items():
        for imp in imports_in(path, source):
            if not _is(imp.module, "redis"):
                continue
            if _is(imp.module, REDIS_EXCEPTIONS) and imp.names:
                continue  # from redis.exceptions import ...
            if imp.module == "redis" and imp.names == ("exceptions",):
                continue  # from redis import exceptions
            out.append(f"{imp.where()}: {imp.describe()} (web/ never touches a raw Redis client: use the store, "
                       "and linkpatrol.store.connection.REDIS_DOWN / RedisError for errors)")
    return out


def _code_only(source: str) -> list[str]:
    """The source's lines with comments and string literals blanked out (so a docstring that names a
    forbidden pattern is not a violation)."""
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.STRING):
            continue
        (srow, scol), (erow, ecol) = tok.start, tok.end
        for row in range(srow, erow + 1):
            line = lines[row - 1]
            start = scol if row == srow else 0
            end = ecol if row == erow else len(line)
            lines[row - 1] = line[:start] + " " * (end - start) + line[end:]
    return lines


def _names_a_store(node: ast.expr) -> bool:
    """``store``, ``g.store``, ``self._store``, ``store()``, ``get_store()``..."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return "store" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "store" in node.attr.lower()
    return False


def raw_store_violations(paths: list[Path], sources: dict[Path, str] | None = None) -> list[str]:
    """One message per offending line: the patterns over the code, then any ``.r`` or ``.keys`` of an
    expression that names a store (``self._store.r``) the patterns do not spell."""
    out: list[str] = []
    for path in paths:
        source = path.read_text() if sources is None else sources[path]
        rel = path.relative_to(ROOT)
        found: dict[int, str] = {}
        for number, line in enumerate(_code_only(source), 1):
            for pattern in RAW_STORE_ACCESS:
                if (match := pattern.search(line)) and number not in found:
                    found[number] = match.group(0)
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.Attribute) and node.attr in STORE_ATTRS and _names_a_store(node.value):
                found.setdefault(node.lineno, ast.unparse(node))
        lines = source.splitlines()
        out.extend(f"{rel}:{number}: {lines[number - 1].strip()} (reaches a store's raw client or keys: "
                   f"{what!r}; add a store method instead)" for number, what in sorted(found.items()))
    return out


# -- the rules ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may(package: str) -> None:
    assert python_files(package), f"no python files under {package}/"
    problems = layer_violations(package)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_web_imports_no_redis_client() -> None:
    problems = redis_import_violations(python_files("web"))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_web_reaches_no_raw_client_or_key_through_the_store() -> None:
    problems = raw_store_violations(python_files("web"))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# -- the core's rooms -------------------------------------------------------------------------------------
# What a room of linkpatrol/ may import of the core (besides itself). The top level (env, durations,
# config) is below everything but config, which reads the model's defaults.
BASICS = ("linkpatrol.env", "linkpatrol.durations", "linkpatrol.config")
REDIS_SIDE = (*BASICS, "linkpatrol.model", "linkpatrol.store", "linkpatrol.frontier")
CORE_ROOMS: dict[str, tuple[str, ...]] = {
    "model": ("linkpatrol.env", "linkpatrol.durations"),
    "store": REDIS_SIDE,
    "frontier": REDIS_SIDE,
    "politeness": REDIS_SIDE,
    "login": REDIS_SIDE,
    "reports": REDIS_SIDE,
    "watch": (*REDIS_SIDE, "linkpatrol.reports"),
}
CLI_ONLY = ("linkpatrol.cli",)  # the command line: imported by nothing of the core but itself and __main__


def core_module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_graph() -> dict[str, set[str]]:
    """Module -> the core modules it imports (a ``from package import module`` counts as the module),
    every import counted, those only for type checking too."""
    paths = python_files("linkpatrol")
    modules = {core_module(p) for p in paths}

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for path in paths:
        here = core_module(path)
        targets: set[str] = set()
        for imp in imports_in(path):
            if not _is(imp.module, "linkpatrol"):
                continue
            for name in imp.names or ("",):
                target = known(f"{imp.module}.{name}" if name else imp.module)
                if target and target != here:
                    targets.add(target)
        graph[here] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or around a loop (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_two_modules_of_the_core_import_each_other() -> None:
    cycles = import_cycles(core_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_each_room_of_the_core_imports_only_the_rooms_below_it() -> None:
    problems = []
    for module, targets in core_graph().items():
        room = module.split(".")[1] if module.count(".") else ""
        for target in targets:
            if target.startswith(f"linkpatrol.{room}.") or target == f"linkpatrol.{room}":
                continue
            if room in CORE_ROOMS and not any(_is(target, allowed) for allowed in CORE_ROOMS[room]):
                problems.append(f"{module} imports {target} (linkpatrol/{room}/ may import {CORE_ROOMS[room]})")
            if any(_is(target, only) for only in CLI_ONLY) and room != "cli" and module != "linkpatrol.__main__":
                problems.append(f"{module} imports {target} (only the command line builds on the command line)")
    if problems:
        pytest.fail("\n".join(sorted(problems)), pytrace=False)


def test_the_cycle_finder_finds_a_loop_and_nothing_else() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


# -- the checker itself ---------------------------------------------------------------------------------
SAMPLE = '''
"""Mentions store().r.hget in a docstring, which is no violation."""
import os, scrapy.http
from twisted.internet import reactor
from . import sibling
from ..crawler import settings
from redis.exceptions import ConnectionError
import redis.exceptions

def later():
    from flask import g  # store().keys in a comment is no violation either
    import importlib
    importlib.import_module("rq")
    g.store.r.hgetall("x")
    store().keys.crawl("x")
    return self._store.r, {"a": 1}.keys()
'''


def test_the_checker_sees_every_kind_of_import() -> None:
    path = ROOT / "web" / "sub" / "sample.py"  # never written: the checker gets the source
    found = [(imp.line, imp.describe()) for imp in imports_in(path, SAMPLE)]
    assert sorted(found) == [
        (3, "import os"),
        (3, "import scrapy.http"),
        (4, "from twisted.internet import reactor"),
        (5, "from web.sub import sibling"),
        (6, "from web.crawler import settings"),
        (7, "from redis.exceptions import ConnectionError"),
        (8, "import redis.exceptions"),
        (11, "from flask import g"),
        (12, "import importlib"),
        (13, "import rq"),
    ]


def test_the_checker_allows_only_redis_exception_imports() -> None:
    path = ROOT / "web" / "sample.py"
    problems = redis_import_violations_in({path: SAMPLE})
    assert [p.split(":")[1] for p in problems] == ["8"], problems
    assert "import redis.exceptions" in problems[0]


def test_the_checker_flags_raw_store_access() -> None:
    path = ROOT / "web" / "sample.py"
    problems = raw_store_violations([path], {path: SAMPLE})
    assert [p.split(":")[1] for p in problems] == ["14", "15", "16"], problems
    assert all(p.startswith("web/sample.py:") for p in problems)
