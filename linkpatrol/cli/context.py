"""What every command of the command line shares: the exit codes, the clients a command gets, and how
it prints (JSON on stdout, one ``error:`` line on stderr)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from linkpatrol.config import Config
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys

EXIT_OK, EXIT_NOT_FOUND, EXIT_BAD_INPUT, EXIT_REDIS = 0, 1, 2, 3


@dataclass(frozen=True)
class Context:
    config: Config
    keys: Keys
    client: Any
    store: CrawlStore


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
