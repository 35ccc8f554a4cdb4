import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.analytics.aggregated import MAX_NUMBER, parse_paths, split_path, to_csv
from shared.analytics.errors import PathFileError
from shared.analytics.events import EventFrame
from shared.analytics.models import MODELS, run_model, run_models
from shared.analytics.paths import build_paths

TEXT = """path,total_conversions,total_conversion_value,total_null
a > b > a,1,10.0,0
b,1,5,1
a>c,0,0,2
"""


def test_parse_strips_spaces_around_separator():
    paths = parse_paths(TEXT)
    assert paths.labels == ["a", "b", "c"]
    assert paths.path_strings() == ["a > b > a", "b", "a > c"]
    assert paths.conversions.tolist() == [1.0, 1.0, 0.0]
    assert paths.nulls.tolist() == [0.0, 1.0, 2.0]
    assert run_model(paths, "linear").as_dict()["a"]["value"] == pytest.approx(20 / 3)


def test_custom_separator_and_optional_columns():
    paths = parse_paths("path,total_conversions\nx|y,2\n", sep="|")
    assert paths.labels == ["x", "y"]
    assert paths.value.tolist() == [0.0]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty"),
        ("route,total_conversions\na,1\n", 1, "missing path"),
        ("path,total_conversions\na,1\nb,x\n", 3, "not a number"),
        ("path,total_conversions\na,-1\n", 2, "between 0"),
        ("path,total_conversions\na,1e308\n", 2, "between 0"),
        ("path,total_conversions,total_conversion_value\na,1,inf\n", 2, "finite"),
        ("path,total_conversions,total_null\na,1\n", 2, "columns"),
    ],
)
def test_errors_name_the_line(text, line, fragment):
    with pytest.raises(PathFileError) as info:
        parse_paths(text)
    assert info.value.line == line
    assert fragment in str(info.value)


def test_round_trip_through_csv():
    paths = parse_paths(TEXT)
    again = parse_paths(to_csv(paths))
    assert again.path_strings() == paths.path_strings()
    assert again.value.tolist() == paths.value.tolist()


def test_blank_paths_are_counted_not_dropped_silently():
    text = "path,total_conversions,total_conversion_value,total_null\n a ,1,10,0\n,150,104999,3\n > ,2,1,0\n"
    paths = parse_paths(text)
    assert paths.path_strings() == ["a"]
    assert paths.skipped == {"rows": 2, "conversions": 152.0, "value": 105000.0, "nulls": 3.0}
    assert paths.unattributed_conversions == 152.0
    assert paths.unattributed_value == 105000.0


def test_the_largest_accepted_numbers_keep_every_model_finite():
    big = f"{MAX_NUMBER:g}"
    text = (
        "path,total_conversions,total_conversion_value,total_null\n"
        f"a > b,{big},{big},{big}\nb,{big},{big},0\n"
    )
    credits = run_models(parse_paths(text))
    out = {m: {"credit": c.as_dict(), "details": c.extra} for m, c in credits.items()}
    json.dumps(out, allow_nan=False)  # strict JSON: no Infinity, no NaN


def test_a_channel_holding_the_separator_survives_the_event_to_path_round_trip():
    rows = [
        ("e1", "touchpoint", 1, "ann", None, "tv > radio", None, {}),
        ("e2", "touchpoint", 2, "ann", None, "back\\slash", None, {}),
        ("e3", "conversion", 3, "ann", None, None, 500, {}),
    ]
    paths = build_paths(EventFrame.from_rows(rows)).channels
    text = to_csv(paths)
    assert "tv \\> radio" in text
    again = parse_paths(text)
    assert again.labels == ["tv > radio", "back\\slash"]
    assert again.touch_label.tolist() == [0, 1]


names = st.text(alphabet="ab>\\ |", min_size=1, max_size=6).filter(lambda n: n.strip() == n)


@given(st.lists(st.lists(names, min_size=1, max_size=4), min_size=1, max_size=5))
def test_to_csv_then_parse_gives_the_same_channels(path_names):
    from tests.shared.analytics.conftest import make_paths

    paths = make_paths([(names_, 1, 1.0, 0) for names_ in path_names])
    again = parse_paths(to_csv(paths))
    strip = [[n.strip() for n in p] for p in path_names]
    got = [
        [again.labels[c] for c in again.touch_label[a:b].tolist()]
        for a, b in zip(again.offsets[:-1].tolist(), again.offsets[1:].tolist(), strict=True)
    ]
    # identical paths become one row of the file
    assert sorted(map(tuple, got)) == sorted(set(map(tuple, strip)))


def test_split_path_reads_escapes():
    assert split_path("a \\> b > c", ">") == ["a > b", "c"]
    assert split_path("a\\\\ > b", ">") == ["a\\", "b"]
    assert "markov" in MODELS
