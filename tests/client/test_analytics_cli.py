import json

from client.analytics_cli import main

TEXT = "path,total_conversions,total_conversion_value,total_null\na > b,2,20,1\nb,1,5,3\n"


def test_json_output_runs_every_model(tmp_path, capsys):
    f = tmp_path / "paths.csv"
    f.write_text(TEXT)
    assert main(["attribution", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["models"]) == {
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
        "position_based",
        "markov",
        "shapley",
    }
    assert out["models"]["first_touch"]["credit"]["a"]["conversions"] == 2.0


def test_table_output_and_single_model(tmp_path, capsys):
    f = tmp_path / "paths.csv"
    f.write_text(TEXT.replace(" > ", "|"))
    assert main(["attribution", str(f), "--model", "markov", "--order", "2", "--sep", "|"]) == 0
    out = capsys.readouterr().out
    assert "markov" in out and "a" in out


def test_errors_are_one_line_on_stderr(tmp_path, capsys):
    assert main(["attribution", str(tmp_path / "missing.csv")]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    f = tmp_path / "bad.csv"
    f.write_text("path,total_conversions\na,1\nb,oops\n")
    assert main(["attribution", str(f)]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and len(err.strip().splitlines()) == 1


BLANK = (
    "path,total_conversions,total_conversion_value,total_null\n"
    "a > b,2,20,1\n"
    ",150,104999,7\n"
    " > ,3,1,0\n"
    "b,1,5,3\n"
)


def test_paths_without_a_channel_are_counted_in_the_json(tmp_path, capsys):
    f = tmp_path / "paths.csv"
    f.write_text(BLANK)
    assert main(["attribution", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["paths"] == 2
    assert out["skipped"] == {"paths": 2, "conversions": 153.0, "value": 105000.0, "nulls": 7.0}
    credited = sum(v["conversions"] for v in out["models"]["linear"]["credit"].values())
    assert credited == 3.0  # the skipped conversions are nobody's credit


def test_paths_without_a_channel_are_counted_in_the_table(tmp_path, capsys):
    f = tmp_path / "paths.csv"
    f.write_text(BLANK)
    assert main(["attribution", str(f), "--model", "linear"]) == 0
    out = capsys.readouterr().out
    assert "skipped 2 paths with no channel: 153 conversions, value 105,000.00, 7 nulls" in out
    f.write_text(TEXT)
    assert main(["attribution", str(f), "--model", "linear"]) == 0
    assert "skipped" not in capsys.readouterr().out  # nothing skipped, nothing said


def test_non_finite_numbers_are_refused_with_their_line(tmp_path, capsys):
    f = tmp_path / "paths.csv"
    f.write_text("path,total_conversions,total_conversion_value\na,1,5\nb,1,1e308\n")
    assert main(["attribution", str(f), "--json"]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "total_conversion_value" in err
