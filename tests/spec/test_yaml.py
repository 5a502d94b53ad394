"""YAML text -> plain data with positions: safe tags only, duplicate keys, no date or yes/no coercion."""

from __future__ import annotations

import pytest

from spine_dagster.spec._yaml import YamlSyntaxError, parse_scalar, parse_yaml


def test_dates_stay_strings_and_only_true_false_are_booleans() -> None:
    doc = parse_yaml("week_ending: 2026-01-02\nsymbol: ON\nno: NO\nforce: true\nflag: False\nn: 6\nx: 1.5\n")
    assert doc.data == {
        "week_ending": "2026-01-02",
        "symbol": "ON",
        "no": "NO",
        "force": True,
        "flag": False,
        "n": 6,
        "x": 1.5,
    }


def test_spans_are_one_based_for_keys_and_values() -> None:
    doc = parse_yaml("a:\n  b: [x, yy]\n")
    assert (doc.key_spans[("a", "b")].line, doc.key_spans[("a", "b")].column) == (2, 3)
    span = doc.spans[("a", "b", 1)]
    assert (span.line, span.column, span.end_column) == (2, 10, 12)


def test_duplicate_keys_are_reported_with_the_first_position() -> None:
    doc = parse_yaml("a: 1\nb: 2\na: 3\n")
    assert [p.message for p in doc.problems] == [
        "duplicate key 'a' (first defined at line 1); remove one of them"
    ]
    assert (doc.problems[0].span.line, doc.problems[0].span.column) == (3, 1)
    assert doc.data == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo hacked']\n",
        "a: !!python/name:os.system\n",
        "a: !custom 1\n",
        "a: !!timestamp 2026-01-02\n",
    ],
)
def test_non_standard_tags_are_refused(text: str) -> None:
    doc = parse_yaml(text)
    assert len(doc.problems) == 1
    assert "is not allowed (safe YAML only" in doc.problems[0].message
    assert doc.data == {"a": None}


def test_syntax_error_has_a_position() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        parse_yaml("a: [1, 2\nb: 3\n")
    assert info.value.span.line >= 1
    assert info.value.message.startswith("invalid YAML:")


def test_several_documents_are_refused() -> None:
    with pytest.raises(YamlSyntaxError, match="single document"):
        parse_yaml("a: 1\n---\nb: 2\n")


def test_alias_bomb_is_stopped() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(YamlSyntaxError, match="too large"):
        parse_yaml("\n".join(lines) + "\n")


def test_merge_keys_and_aliases_work() -> None:
    doc = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")
    assert doc.data["other"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("6", 6),
        ("2026-01-03", "2026-01-03"),
        ("NMS_TIER_1", "NMS_TIER_1"),
        ("[a, b]", ["a", "b"]),
        ("", ""),
        ("1.5", 1.5),
        ("null", None),
    ],
)
def test_cli_values_parse_as_yaml_scalars(text: str, value: object) -> None:
    assert parse_scalar(text) == value


def test_libyaml_and_pure_python_loaders_agree_on_every_fixture() -> None:
    """The fast path (libyaml) must give the same data and positions as the pure-Python loader."""
    from pathlib import Path

    from spine_dagster.spec import _yaml

    assert _yaml._CSpineLoader is not None, "PyYAML was built without libyaml"
    fixtures = sorted((Path(__file__).parents[1] / "fixtures" / "groups").rglob("*.y*ml"))
    compared = 0
    for path in fixtures:
        text = path.read_text()
        try:
            slow = _yaml._parse_with(_yaml._SpineLoader, text)
        except YamlSyntaxError:
            continue
        fast = _yaml._parse_with(_yaml._CSpineLoader, text)
        assert (fast.data, fast.spans, fast.key_spans) == (slow.data, slow.spans, slow.key_spans), path
        assert [p.message for p in fast.problems] == [p.message for p in slow.problems], path
        compared += 1
    assert compared > 100
