"""``linkpatrol.toml`` and ``[tool.linkpatrol]``: the flags of ``check`` read from a file, flags winning,
and a bad file refused with exit code 2, naming the file, the line and the key."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from linkpatrol.cli.check.config import ConfigError, apply, option_actions, subcommand
from linkpatrol.cli.main import build_parser, main
from linkpatrol.model.verdicts import Outcome

ROOT = Path(__file__).resolve().parents[2]
EVERY_KIND = """\
max-pages = 500
max-depth = 0
max-duration = "2h"
no-robots = true
exclude = ["/drafts/", "[?&]sort="]
same-site = ["docs.example.org"]
accept = ["403@github.com", 429]
site-rate = 2.5
fail-on = ["dead", "missing_anchor"]
format = "junit"
timeout = "5m"
check-fragments = "none"
"""


def parsed(tmp_path: Path, *argv: str, text: str | None = None, name: str = "linkpatrol.toml") -> argparse.Namespace:
    if text is not None:
        (tmp_path / name).write_text(text)
    args = build_parser().parse_args(["check", "site/", *argv])
    args.config_file = apply(args, ["check", "site/", *argv], build_parser, cwd=tmp_path)
    return args


def test_every_kind_of_value_is_parsed_as_its_flag_would_be(tmp_path: Path) -> None:
    args = parsed(tmp_path, text=EVERY_KIND)
    assert (args.max_pages, args.max_depth, args.max_duration, args.no_robots) == (500, 0, "2h", True)
    assert args.exclude == ["/drafts/", "[?&]sort="] and args.same_site == ["docs.example.org"]
    assert args.accept == ["403@github.com", "429"] and args.site_rate == 2.5
    assert args.fail_on == (Outcome.DEAD, Outcome.MISSING_ANCHOR)
    assert (args.format, args.timeout, args.check_fragments) == ("junit", 300.0, "none")
    assert args.no_external is False and args.group_by == "page"  # what the file leaves out keeps its default
    assert args.config_file is not None and args.config_file.name == str(tmp_path / "linkpatrol.toml")


def test_a_comma_separated_string_works_too(tmp_path: Path) -> None:
    assert parsed(tmp_path, text='fail-on = "dead,blocked"').fail_on == (Outcome.DEAD, Outcome.BLOCKED)


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    args = parsed(tmp_path, "--max-pages", "7", "--exclude", "/tmp/", "--format", "text", text=EVERY_KIND)
    assert args.max_pages == 7 and args.exclude == ["/tmp/"]  # a list flag replaces the file's list
    assert args.format == "text"  # even when the flag says what the default says
    assert args.max_depth == 0 and args.fail_on == (Outcome.DEAD, Outcome.MISSING_ANCHOR)


def test_no_config_and_an_explicit_file(tmp_path: Path) -> None:
    (tmp_path / "linkpatrol.toml").write_text("max-pages = 500\n")
    other = tmp_path / "ci.toml"
    other.write_text("max-pages = 9\n")
    assert parsed(tmp_path, "--no-config").max_pages is None
    assert parsed(tmp_path, "--config", str(other)).max_pages == 9
    with pytest.raises(ConfigError, match="--config: no file"):
        parsed(tmp_path, "--config", str(tmp_path / "missing.toml"))
    with pytest.raises(SystemExit):  # one or the other
        build_parser().parse_args(["check", "site/", "--no-config", "--config", str(other)])


def test_pyproject_table(tmp_path: Path) -> None:
    text = '[project]\nname = "docs"\n\n[tool.linkpatrol]\nmax-pages = 12\nexclude = ["/drafts/"]\n'
    args = parsed(tmp_path, text=text, name="pyproject.toml")
    assert args.max_pages == 12 and args.exclude == ["/drafts/"]
    assert args.config_file.name == f"{tmp_path / 'pyproject.toml'} [tool.linkpatrol]"
    # linkpatrol.toml comes first; a pyproject.toml without the table is no config
    (tmp_path / "linkpatrol.toml").write_text("max-pages = 3\n")
    assert parsed(tmp_path).max_pages == 3
    (tmp_path / "linkpatrol.toml").unlink()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "docs"\n')
    assert parsed(tmp_path).max_pages is None and parsed(tmp_path).config_file is None
    # the line of a key is looked for in the table, not in another one that has a key of that name
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "docs"\n\n[tool.linkpatrol]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.linkpatrol\], line 5: unknown key 'name'"):
        parsed(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "docs"\n\n[tool.linkpatrol]\nmax-pages = x\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: not valid TOML: .*line 5"):
        parsed(tmp_path)


@pytest.mark.parametrize("text, message", [
    ('format = "junit"\nmax_pages = 5\n',
     r"linkpatrol.toml, line 2: unknown key 'max_pages'; did you mean 'max-pages'\?"),
    ("frobnicate = 1\n", r"unknown key 'frobnicate'; the keys are the long flags of check without '--': accept, "),
    ("max-pages = \"many\"\n", r"line 1: max-pages: must be a whole number"),
    ("max-pages = 0\n", r"line 1: max-pages: must be at least 1"),
    ("max-pages = 1.5\n", r"line 1: max-pages: must be a whole number"),
    ('\n\nexclude = "/drafts/"\n', r'line 3: exclude: must be a list, like \["/drafts/"\]'),
    ("no-robots = 1\n", r"no-robots: must be true or false"),
    ('format = "yaml"\n', r"format: 'yaml' is not one of text, json, csv, markdown, junit"),
    ('format = ["json"]\n', r"format: must be one value, not a list"),
    ("fail-on = [\"dead\", \"nonsense\"]\n", r"fail-on: 'nonsense' is not a problem outcome"),
    ("timeout = \"soon\"\n", r"timeout: must be a duration"),
    ("max-depth = true\n", r"max-depth: true is not a string or a number"),
    ("[check]\nmax-pages = 3\n", r"line 1: unknown key 'check'"),
    ("max-pages = \n", r"not valid TOML: .*\(at line 1, column 13\)"),
])
def test_a_bad_file_is_exit_code_2_naming_the_key_and_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        text: str, message: str) -> None:
    (tmp_path / "linkpatrol.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "site/"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"^error: linkpatrol.toml\b", err) and re.search(message, err), err
    assert "Traceback" not in err and "_positive" not in err


def test_the_keys_are_the_flags_of_check() -> None:
    keys = option_actions(subcommand(build_parser(), "check"))
    flags = {flag[2:] for action in subcommand(build_parser(), "check")._actions for flag in action.option_strings
             if flag.startswith("--")}
    assert set(keys) == flags - {"help", "config", "no-config"}
    assert {"max-pages", "exclude", "fail-on", "format", "site-url", "timeout", "no-robots"} <= set(keys)


def test_the_readme_lists_every_key() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**A config file**", 1)[1].split("\n\n**", 1)[0]
    keys = section.split("The keys (", 1)[1].split("\n\n", 1)[0].split(":", 1)[1]
    assert set(re.findall(r"`([a-z-]+)`", keys)) == set(option_actions(subcommand(build_parser(), "check")))
