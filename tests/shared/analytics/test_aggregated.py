import pytest

from shared.analytics.aggregated import parse_paths, to_csv
from shared.analytics.errors import PathFileError
from shared.analytics.models import run_model

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
        ("path,total_conversions\na,-1\n", 2, ">= 0"),
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
