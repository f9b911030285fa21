"""YAML in and out: line maps, duplicate keys refused, and output that reads back as the same data."""
from __future__ import annotations

import random
import string

import pytest
import yaml

from meshops.yamlio.emitter import to_text
from meshops.yamlio.documents import YamlError, dump_all, load_documents

TRICKY = ["yes", "no", "on", "off", "null", "~", "1", "1.0", "1e3", "0x1f", "0o7", "2024-01-01", ".inf", ".nan", "<<",
          "=", "-", "- a", "a: b", "a:", "#", "a #b", " a", "a ", "", "'", '"', "x\ny", "x\ny\n", "x\n", "x\n\n",
          " x\ny", "x \ny", "\tx", "1_000", "+1", "0b101", "1:20", "12:30:45", "TRUE", "*a", "&a", "!a", "%x", "@x",
          "`x", "|", ">", "?", "a\r\nb", "\u2028", "é", "a\x85b", "%REQ(:METHOD)%", "/info*", "10.0.0.0/8"]


def _random_strings(count: int) -> list[str]:
    alphabet = string.printable + "é中\u00a0\u2028\u2029\ufeff\x00\x85-:#&*!|>'\"%@`{}[],?~ "
    rnd = random.Random(20261126)
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12))) for _ in range(count)]


@pytest.mark.parametrize("shape", ["value", "item", "key", "nested"])
def test_emitted_yaml_reads_back_as_the_same_strings(shape):
    for text in TRICKY + _random_strings(3000):
        document = {"value": {"k": text}, "item": [text], "key": {text: 1}, "nested": {"k": [text, {"x": text}]}}[shape]
        assert yaml.load(to_text(document), Loader=yaml.CSafeLoader) == document, repr(text)


def test_emitted_numbers_booleans_and_nulls_keep_their_types():
    document = {"f": 1e-05, "g": 1.5, "i": 10**20, "b": True, "n": None, "neg": -0.5, "inf": float("inf")}
    assert yaml.load(to_text(document), Loader=yaml.CSafeLoader) == document


def test_multi_line_text_is_a_literal_block_as_people_write_it():
    assert to_text({"mesh": "a: 1\nb: 2\n"}) == "mesh: |\n  a: 1\n  b: 2\n"


def test_dump_all_is_deterministic_and_sorted():
    first = dump_all([{"kind": "X", "apiVersion": "v1", "metadata": {"name": "a"}}])
    assert first == "---\napiVersion: v1\nkind: X\nmetadata:\n  name: a\n"


def test_line_map_points_at_keys_and_items():
    documents = load_documents("a: 1\nb:\n  - x\n  - y: 2\n---\nc: 3\n", filename="f.yaml")
    assert documents[0].lines[("b", 1, "y")] == 4
    assert documents[0].line_of(("b", 0, "missing")) == 3
    assert documents[1].start_line == 6


def test_duplicate_keys_are_refused_with_both_lines():
    with pytest.raises(YamlError) as caught:
        load_documents("spec:\n  host: a\n  host: b\n", filename="dr.yaml")
    assert caught.value.one_line().startswith("error: dr.yaml:3: duplicate key 'host' (first on line 2)")


def test_alias_bombs_are_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(YamlError, match="too many nodes"):
        load_documents(bomb, filename="bomb.yaml")


def test_timestamps_stay_text_as_kubernetes_reads_them():
    assert load_documents("date: 2024-01-01\n", filename="x")[0].data == {"date": "2024-01-01"}


# Plain scalars whose type YAML 1.1 infers, each also written quoted (then always a string).
_IMPLICIT = {"yes": True, "no": False, "on": True, "Off": False, "true": True, "1": 1, "0x1f": 31, "1_000": 1000,
             "1.5": 1.5, "1.5e+3": 1500.0, "1e3": "1e3", "null": None, "~": None, "2024-01-01": "2024-01-01", "text": "text"}


@pytest.mark.parametrize("quoted_first", [True, False])
def test_a_quoted_scalar_stays_a_string_where_the_same_plain_text_is_typed(quoted_first):
    def document(quoted: bool) -> str:
        return "".join(f"{'q' if quoted else 'p'}{index}: {repr(text) if quoted else text}\n"
                       for index, text in enumerate(_IMPLICIT))

    texts = [document(quoted_first), document(not quoted_first)] * 2  # in both orders, and again once seen
    loaded = [entry.data for entry in load_documents("---\n".join(texts), filename="tags.yaml")]
    plain = {f"p{index}": value for index, value in enumerate(_IMPLICIT.values())}
    quoted = {f"q{index}": text for index, text in enumerate(_IMPLICIT)}
    assert loaded == ([quoted, plain, quoted, plain] if quoted_first else [plain, quoted, plain, quoted])
