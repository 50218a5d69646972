"""The Dockerfile, docker-compose.yml, the requirements files and pyproject.toml agree with what ``make run``
starts and with what the code imports. Docker does not run here, so these files are read, not built:
the image installs the runtime pins only and the project itself, runs as a user who owns its state
volume, and compose runs every process of ``make run`` with the same module."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import yaml
from packaging.requirements import Requirement

from linkpatrol.cli.launcher import processes
from tests.support.processes import ROOT

PACKAGES = ("linkpatrol", "crawler", "web")
# What pip and venv bring along; never pinned (pip freeze leaves them out too).
INSTALLER = {"pip", "setuptools", "wheel"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- the Dockerfile -------------------------------------------------------------------------------------
@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for rest in self.args("ENV"):
            out.update(part.split("=", 1) for part in shlex.split(rest))  # type: ignore[misc]
        return out


def dockerfile() -> list[Stage]:
    """The Dockerfile's stages and their instructions (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", (ROOT / "Dockerfile").read_text())
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            stages.append(Stage(words[2] if len(words) > 2 and words[1].upper() == "AS" else str(len(stages))))
        stages[-1].instructions.append((keyword, rest.strip()))
    return stages


def commands(stage: Stage) -> list[list[str]]:
    """Every shell command a stage RUNs, as words (``a && b`` is two)."""
    return [shlex.split(part) for run in stage.args("RUN") for part in run.split("&&")]


def pip_installs(stage: Stage) -> list[list[str]]:
    return [cmd[cmd.index("install") + 1:] for cmd in commands(stage) if "pip" in cmd[:3] and "install" in cmd]


def test_image_installs_the_runtime_pins_and_the_project() -> None:
    *builders, final = dockerfile()
    installs = pip_installs(final)
    # The runtime pins, and not the test and lint tools.
    requirement_files = [PurePosixPath(a[a.index("-r") + 1]).name for a in installs if "-r" in a]
    assert requirement_files == ["requirements.txt"], requirement_files
    copied = " ".join(final.args("COPY"))
    assert "requirements-dev" not in copied
    # The project itself: a wheel that an earlier stage built from the sources, or the sources.
    wheel_dirs = {cmd[cmd.index("--wheel-dir") + 1] for stage in builders for cmd in commands(stage)
                  if cmd[:3] == ["pip", "wheel", *cmd[2:3]] and "." in cmd and "--wheel-dir" in cmd}
    from_build = [rest.split()[-1] for rest in final.args("COPY") if rest.startswith("--from=")
                  and rest.split()[1] in wheel_dirs]
    project = [a for a in installs if "." in a or any(w.startswith(tuple(from_build)) and w.endswith(".whl")
                                                      for w in a)]
    assert project, f"the image never installs the project: {installs}"
    assert all("--no-deps" in a for a in project)  # its dependencies are the pins
    # Whichever stage builds it has the project's sources.
    building = [s for s in builders if any(c[:2] == ["pip", "wheel"] for c in commands(s))] or [final]
    sources = {rest.split()[0] for s in building for rest in s.args("COPY")}
    assert {"pyproject.toml", *PACKAGES} <= sources, sources


def test_image_runs_as_a_user_who_owns_the_state_volume() -> None:
    final = dockerfile()[-1]
    [user] = final.args("USER")
    assert user not in ("root", "0")
    [volume] = final.args("VOLUME")
    state, *others = volume.split() if not volume.startswith("[") else yaml.safe_load(volume)
    assert not others, volume
    owned = [cmd for cmd in commands(final) if cmd[:1] == ["chown"] and any(w.rstrip("/") == state for w in cmd)]
    assert owned and any(w.split(":")[0] == user for cmd in owned for w in cmd), owned
    # The mail worker writes its outbox into that volume when no SMTP server is set.
    env = final.env()
    assert PurePosixPath(env["LINKPATROL_MAIL_DIR"]).is_relative_to(state), env
    # No scrapy.cfg in the image: the crawler's settings module is named instead.
    assert env.get("SCRAPY_SETTINGS_MODULE") == "crawler.settings" or any(
        rest.split()[0] == "scrapy.cfg" for rest in final.args("COPY"))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = [str(v).split(":") for v in compose["services"]["worker"].get("volumes", [])]
    assert any(len(m) >= 2 and m[1] == state and m[0] in compose.get("volumes", {}) for m in mounts), mounts


# -- docker-compose.yml against make run ------------------------------------------------------------------
def module_and_positionals(args: list[str]) -> tuple[str, list[str]]:
    """``["-m", "gunicorn", "--bind", "x", "web:create_app()"]`` -> ("gunicorn", ["web:create_app()"]):
    the module and its arguments that are not options or option values."""
    if args[:1] == ["python"]:
        args = args[1:]
    assert args[:1] == ["-m"], f"not a python -m command: {args}"
    module, rest = args[1], args[2:]
    positionals = []
    for i, arg in enumerate(rest):
        value_of_option = i > 0 and rest[i - 1].startswith("--") and "=" not in rest[i - 1]
        if not arg.startswith("-") and not value_of_option:
            positionals.append(arg)
    return module, positionals


def test_compose_runs_every_process_of_make_run_from_the_image() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    ours = {name: svc for name, svc in services.items() if svc.get("build")}
    launched = {name.split("-")[0]: args for name, args in processes(8000, crawlers=2)}
    assert set(ours) == set(launched), (sorted(ours), sorted(launched))
    for name, args in launched.items():
        command = ours[name]["command"]
        assert module_and_positionals(command) == module_and_positionals(args), name
        assert ours[name]["build"] == "."
        assert ours[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert "redis" in ours[name]["depends_on"]
    # The image's default command is the crawler's.
    [cmd] = dockerfile()[-1].args("CMD")
    assert module_and_positionals(yaml.safe_load(cmd)) == module_and_positionals(launched["crawler"])
    # Redis stays inside the compose network.
    assert "ports" not in services["redis"]


def test_readme_docker_section_names_every_service() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Docker\n", 1)[1].split("\n## ", 1)[0]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in compose["services"]:
        assert f"`{name}`" in section or (name == "redis" and "Redis" in section), name


# -- requirements --------------------------------------------------------------------------------------
def pins(name: str) -> dict[str, str]:
    """The exact pins of a requirements file (``-r`` includes not followed); every line must be one."""
    out: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-r "):
            continue
        found = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)", line)
        assert found, f"{name}: {line!r} is not an exact pin"
        assert norm(found[1]) not in out, f"{name}: {found[1]} pinned twice"
        out[norm(found[1])] = found[2]
    return out


def test_requirements_split_runtime_from_tools() -> None:
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert not set(runtime) & set(dev), set(runtime) & set(dev)
    for tool in ("pytest", "pytest-timeout", "ruff", "mypy", "aiosmtpd"):
        assert tool in dev and tool not in runtime, tool
    assert "playwright" in runtime and "scrapy-playwright" in runtime  # crawlers that render (crawler/render)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {norm(Requirement(d).name) for d in declared} <= set(runtime)


def imported_distributions() -> dict[str, set[str]]:
    """Every distribution that code of linkpatrol, crawler or web imports (lazily too), with where."""
    owners = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {n.split(".")[0] for n in names} - set(PACKAGES) - set(sys.stdlib_module_names):
                    assert top in owners, f"{path.relative_to(ROOT)} imports {top}, which nothing installed provides"
                    for dist in owners[top]:
                        found.setdefault(norm(dist), set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_runtime_import_and_its_dependencies_are_runtime_pins() -> None:
    runtime = pins("requirements.txt")
    missing = {dist: sorted(paths)[:3] for dist, paths in imported_distributions().items() if dist not in runtime}
    assert not missing, f"imported by the code but not in requirements.txt: {missing}"
    # The runtime set is closed: what each pinned package needs (on this Python, no extras) is pinned.
    for dist in runtime:
        for raw in importlib.metadata.requires(dist) or []:
            req = Requirement(raw)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            assert norm(req.name) in runtime or norm(req.name) in INSTALLER, f"{dist} needs {req.name}"


def test_the_package_carries_every_file_the_code_reads() -> None:
    """What pip installs in the image: every folder of Python files is a package (setuptools' find only
    takes those), and every other file under the packages is package data (Lua, templates, static)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = config["packages"]["find"]["include"]
    data = config["package-data"]
    for package in PACKAGES:
        root = ROOT / package
        for folder in {p.parent for p in root.rglob("*.py")}:
            assert (folder / "__init__.py").exists(), f"{folder.relative_to(ROOT)} has no __init__.py"
            dotted = ".".join(folder.relative_to(ROOT).parts)
            assert any(fnmatch.fnmatchcase(dotted, pattern) for pattern in include), dotted
        for path in root.rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(root).as_posix()
            assert any(_matches(relative, pattern) for pattern in data.get(package, [])), \
                f"{path.relative_to(ROOT)} is not package data in pyproject.toml: the image would lack it"


def _matches(relative: str, pattern: str) -> bool:
    """setuptools' package-data globs: ``*`` within a folder, ``**`` across folders."""
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, relative) is not None
