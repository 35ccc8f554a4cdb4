"""`wedsync report roi --data-dir D --truth FILE`: on seed-demo data, whose generator knows the
true channel shares, the report says how far each attribution model is from them, beside the
bar a uniform split sets; a truth that is not shares is refused with its code."""

from __future__ import annotations

import json

from devtools.seed import seed_demo
from wedsync.cli import main

UNTIL_MS = 1_795_996_800_000  # 2026-11-30


def test_the_seeded_truth_gives_every_models_distance_from_it(tmp_path, capsys):
    data_dir = tmp_path / "server"
    seeded = seed_demo(
        data_dir,
        org="Demo Weddings",
        seed=1,
        suppliers=300,
        couples=3000,
        campaigns=12,
        days=180,
        until_ms=UNTIL_MS,
    )
    truth_file = tmp_path / "seed.json"
    truth_file.write_text(json.dumps(seeded))  # what `wedsync seed-demo --json` prints
    args = ["report", "roi", "--data-dir", str(data_dir), "--json"]

    assert main(args) == 0
    blind = json.loads(capsys.readouterr().out)["attribution"]["accuracy"]
    assert blind == {"available": False, "reason": "no ground truth known for these data"}

    assert main([*args, "--truth", str(truth_file)]) == 0
    acc = json.loads(capsys.readouterr().out)["attribution"]["accuracy"]
    assert acc["available"]
    assert acc["truth"] == seeded["truth"]["shares"]
    bar = acc["uniform_total_variation"]
    assert bar > 0.15  # a bar a useless model fails
    assert set(acc["models"]) >= {"first_touch", "last_touch", "linear", "markov", "shapley"}
    for model, figures in acc["models"].items():
        assert figures["total_variation"] < bar, (model, figures)
    assert acc["models"][acc["best_model"]]["total_variation"] < 0.6 * bar


def test_a_truth_that_is_not_shares_is_refused(tmp_path, capsys):
    data_dir = tmp_path / "server"
    seed_demo(
        data_dir,
        org="Demo Weddings",
        seed=2,
        suppliers=5,
        couples=50,
        campaigns=2,
        days=30,
        until_ms=UNTIL_MS,
    )
    bad = tmp_path / "truth.json"
    for text, says in (
        ('{"email": -1}', "finite number"),
        ('{"email": 0, "referral": 0}', "add up to 0"),
        ("[1, 2]", "map of channel"),
        ("not json", "not JSON"),
    ):
        bad.write_text(text)
        assert main(["report", "roi", "--data-dir", str(data_dir), "--truth", str(bad)]) == 1
        err = capsys.readouterr().err
        assert "[bad_truth]" in err and says in err, err
    profile = ["report", "roi", "--profile", str(tmp_path / "p"), "--truth", str(bad)]
    assert main(profile) == 1
    assert "--truth goes with --data-dir" in capsys.readouterr().err
