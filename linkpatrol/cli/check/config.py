"""``linkpatrol.toml`` (or ``[tool.linkpatrol]`` in ``pyproject.toml``): the flags of ``linkpatrol check``
kept in a file, as lychee keeps them in ``lychee.toml``.

The keys are the long flags of the ``check`` parser without their dashes (``max-pages = 500``,
``exclude = ["/drafts/"]``, ``fail-on = ["dead", "missing_anchor"]``), read from the parser itself, so
the file and the command line cannot drift apart. A value goes through what its flag goes through
(the flag's type and choices): the file says what the command line would, in TOML's types (a switch
is ``true``/``false``, a repeatable flag a list, a comma-separated one a list or a string). A flag
given on the command line wins over the file's value of it (a list included: it replaces the file's).
"""

from __future__ import annotations

import argparse
import difflib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "linkpatrol.toml"
PYPROJECT = "pyproject.toml"
TABLE = ("tool", "linkpatrol")  # the table of pyproject.toml
NOT_KEYS = ("help", "config", "no_config")  # flags about the file itself, or no option at all


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, the key and its line if known."""


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    values: dict[str, Any]  # key -> TOML value
    text: str  # for the line of a key
    table: str = ""  # "[tool.linkpatrol]" for pyproject.toml

    @property
    def name(self) -> str:
        return f"{self.path} [{'.'.join(TABLE)}]" if self.table else str(self.path)

    def where(self, key: str) -> str:
        """``linkpatrol.toml, line 3`` (the key's line), or the file alone when the key cannot be found."""
        lines = self.text.splitlines()
        start = 0
        if self.table:
            header = re.compile(r"\s*\[\s*tool\s*\.\s*linkpatrol\s*\]")
            start = next((i + 1 for i, line in enumerate(lines) if header.match(line)), 0)
        prefix = r"(?:tool\s*\.\s*linkpatrol\s*\.\s*)?" if self.table else ""
        key_line = re.compile(rf"\s*(?:[\"']?{re.escape(key)}[\"']?\s*=|\[+\s*{prefix}{re.escape(key)}\s*\])")
        for number in range(start, len(lines)):
            if key_line.match(lines[number]):
                return f"{self.name}, line {number + 1}"
        return self.name


def option_actions(check: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Config key -> the parser's action: every long flag of ``check`` but those in NOT_KEYS."""
    keys: dict[str, argparse.Action] = {}
    for action in check._actions:
        longs = [flag for flag in action.option_strings if flag.startswith("--")]
        if longs and action.dest not in NOT_KEYS:
            keys[longs[0][2:]] = action
    return keys


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of one subcommand (``check``) of the ``linkpatrol`` parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise LookupError(name)


def find(explicit: str | None, cwd: Path) -> ConfigFile | None:
    """The file ``check`` reads: ``--config PATH``, else ./linkpatrol.toml, else ./pyproject.toml's
    ``[tool.linkpatrol]`` table; None when there is none."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"--config: no file {explicit!r}")
        return read(path, in_pyproject=path.name == PYPROJECT, required=True)
    if (cwd / CONFIG_FILE).is_file():
        return read(cwd / CONFIG_FILE)
    if (cwd / PYPROJECT).is_file():
        return read(cwd / PYPROJECT, in_pyproject=True)
    return None


def read(path: Path, *, in_pyproject: bool = False, required: bool = False) -> ConfigFile | None:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:  # its message says where: "(at line 3, column 12)"
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if not in_pyproject:
        return ConfigFile(path, data, text)
    table: Any = data
    for part in TABLE:
        table = table.get(part) if isinstance(table, dict) else None
    if table is None:
        if required:
            raise ConfigError(f"{path}: has no [{'.'.join(TABLE)}] table")
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path} [{'.'.join(TABLE)}]: must be a table of options")
    return ConfigFile(path, table, text, table=".".join(TABLE))


def convert(action: argparse.Action, value: Any) -> Any:
    """A TOML value as the flag's own parsing would give it. Raises ValueError with the reason."""
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value if isinstance(action, argparse._StoreTrueAction) else not value
    if isinstance(action, argparse._AppendAction):
        if not isinstance(value, list):
            raise ValueError(f"must be a list, like [{_toml(value)}]")
        return [_one(action, item) for item in value]
    if isinstance(value, list):
        if action.choices is not None or action.type is None:
            raise ValueError("must be one value, not a list")
        value = ",".join(_word(item) for item in value)  # a comma-separated flag: --fail-on dead,blocked
    return _one(action, value)


def _word(value: Any) -> str:
    """A scalar as the command line would carry it."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{_toml(value)} is not a string or a number")
    return str(value)


def _one(action: argparse.Action, value: Any) -> Any:
    text = _word(value)
    if action.choices is not None and text not in action.choices:
        raise ValueError(f"{text!r} is not one of {', '.join(map(str, action.choices))}")
    parse: Callable[[str], Any] | None = action.type  # type: ignore[assignment]
    if parse is None:
        return text
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(str(exc)) from None
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not a {getattr(parse, '__name__', 'value')}") from None


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def given_flags(build: Callable[[], argparse.ArgumentParser], argv: list[str], command: str) -> set[str]:
    """The dests of the ``command`` flags ``argv`` gives: a parser whose defaults are all SUPPRESS
    leaves out of the namespace whatever the command line did not give."""
    parser = build()
    for action in subcommand(parser, command)._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def apply(args: argparse.Namespace, argv: list[str], build: Callable[[], argparse.ArgumentParser],
          cwd: Path | None = None, command: str = "check") -> ConfigFile | None:
    """Fill ``args`` (``argv`` parsed by ``build()``) from the config file of ``command``, flags
    winning; returns the file read (None: none, or ``--no-config``). Raises ConfigError."""
    if getattr(args, "no_config", False):
        return None
    config = find(getattr(args, "config", None), cwd or Path())
    if config is None:
        return None
    actions = option_actions(subcommand(build(), command))
    values: dict[str, Any] = {}
    for key, value in config.values.items():
        action = actions.get(key)
        if action is None:
            raise ConfigError(f"{config.where(key)}: unknown key {key!r}{_suggest(key, actions)}")
        try:
            values[action.dest] = convert(action, value)
        except ValueError as exc:
            raise ConfigError(f"{config.where(key)}: {key}: {exc}") from None
    given = given_flags(build, argv, command)
    for dest, value in values.items():
        if dest not in given:
            setattr(args, dest, value)
    return config


def _suggest(key: str, actions: dict[str, argparse.Action]) -> str:
    close = difflib.get_close_matches(key.replace("_", "-").removeprefix("--"), list(actions), n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; the keys are the long flags of check without '--': {', '.join(sorted(actions))}"
