"""The per-link encoders of the wire format write what ``compact_json`` writes, byte for byte: what is
stored and compared in Redis (a lease's message, a referrer) must not change with how it is built."""

from __future__ import annotations

import json
import random

from linkpatrol.model.wire import FrontierMessage, MessageKind, Referrer, compact_json

NASTY = ['', 'plain', 'quote " and \\\\ backslash', 'tab\tnew\nline\r\x00\x1f\x7f', 'caf\u00e9 \u2028\u2029',
         '\ud800 lone surrogate', '\U0001f600 emoji', '</script><!--', "'single'", '{"json":[1]}']


def _texts(n: int) -> list[str]:
    rng = random.Random(7)
    alphabet = [chr(c) for c in (*range(0, 0x80), 0xe9, 0x2028, 0xd800, 0xdfff, 0xfeff, 0x1f600)]
    return NASTY + ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(n)]


def test_a_frontier_message_is_encoded_as_compact_json_would() -> None:
    for i, url in enumerate(_texts(500)):
        for kind in MessageKind:
            msg = FrontierMessage(url, kind, i % 7, attempts=i % 3)
            expected = {"u": url, "k": str(kind), "d": i % 7}
            if i % 3:
                expected["a"] = i % 3
            assert msg.encode() == compact_json(expected), (url, kind)
            assert FrontierMessage.decode(msg.encode()) == msg


def test_a_referrer_is_encoded_as_compact_json_would() -> None:
    texts = _texts(500)
    for i, text in enumerate(texts):
        ref = Referrer(texts[-i], text, texts[i // 2], texts[(i * 7) % len(texts)], line=i % 4)
        fields: list[object] = [ref.page, ref.text, ref.element, ref.fragment]
        if ref.line:
            fields.append(ref.line)
        assert ref.encode() == compact_json(fields), text
        assert Referrer.decode(ref.encode()) == ref
        json.loads(ref.encode())  # valid JSON, lone surrogates and all
