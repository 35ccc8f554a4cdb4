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
