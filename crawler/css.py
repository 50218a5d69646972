"""The urls a stylesheet points at: ``url()`` values and ``@import`` targets, read with tinycss2's
tokenizer (never a regular expression over CSS: comments, strings and escapes are the tokenizer's job).

Each url comes with its line in the CSS source (``first_line`` is the line the CSS starts on in its
document: a ``<style>`` block's line in the page).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import tinycss2
from tinycss2 import ast


@dataclass(frozen=True)
class CssUrl:
    url: str
    line: int
    is_import: bool  # an @import: the target is a stylesheet to read in turn


def _values(nodes: Iterable[ast.Node], first_line: int) -> Iterator[CssUrl]:
    for node in nodes:
        if isinstance(node, ast.URLToken):
            yield CssUrl(node.value, first_line + node.source_line - 1, False)
        elif isinstance(node, ast.FunctionBlock):
            if node.lower_name == "url":
                arg = next((a for a in node.arguments if isinstance(a, ast.StringToken)), None)
                if arg is not None:
                    yield CssUrl(arg.value, first_line + node.source_line - 1, False)
            else:
                yield from _values(node.arguments, first_line)
        elif isinstance(node, (ast.ParenthesesBlock, ast.SquareBracketsBlock, ast.CurlyBracketsBlock)):
            yield from _values(node.content, first_line)


def _rules(rules: Iterable[ast.Node], first_line: int) -> Iterator[CssUrl]:
    for rule in rules:
        if isinstance(rule, ast.AtRule):
            if rule.lower_at_keyword == "import":
                target = next((t for t in rule.prelude if isinstance(t, (ast.StringToken, ast.URLToken))), None)
                if target is not None:
                    yield CssUrl(target.value, first_line + rule.source_line - 1, True)
                    continue
                for found in _values(rule.prelude, first_line):  # @import url("x.css")
                    yield CssUrl(found.url, found.line, True)
                continue
            yield from _values(rule.prelude, first_line)
            if rule.content is not None:  # @media, @supports... hold rules; @font-face declarations
                yield from _rules(tinycss2.parse_rule_list(rule.content), first_line) \
                    if rule.lower_at_keyword in ("media", "supports", "document", "layer", "container") \
                    else _values(rule.content, first_line)
        elif isinstance(rule, ast.QualifiedRule):
            yield from _values(rule.prelude, first_line)
            yield from _values(rule.content, first_line)


def stylesheet_urls(css: str, first_line: int = 1) -> list[CssUrl]:
    """Every url of a stylesheet (a file or a ``<style>`` block)."""
    return list(_rules(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True), first_line))


def declaration_urls(css: str, line: int) -> list[CssUrl]:
    """Every url of a ``style=""`` attribute (declarations, no selectors)."""
    return [CssUrl(u.url, line, False) for u in _values(tinycss2.parse_component_value_list(css), 1)]
