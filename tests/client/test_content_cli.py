"""`wedsync content …` as a user runs it: offline in-process, the LLM path in a process of its
own against a real chat-completions server, the endpoint set up in a profile."""

from __future__ import annotations

import asyncio
import json
import sys

from shared.content import APPROACHES, SubjectOutcome
from tests.client.chat_server import start_chat_server, stop_chat_server
from wedsync.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_offline_prints_five_scored_variants_and_the_recommendation(capsys):
    context = json.dumps({"venue": "Hollow Barn", "wedding_date": "2030-09-12"})
    code, out, _ = run(
        capsys, "content", "generate", "--type", "nurture", "--context", context, "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["source"] == "offline" and result["fallback"] is None
    assert [v["approach"] for v in result["variants"]] == list(APPROACHES)
    rates = [v["predicted_rate"] for v in result["variants"]]
    assert rates[result["recommended"]] == max(rates)
    assert result["reason"].startswith("Highest predicted click rate")
    assert any("Hollow Barn" in v["subject"] for v in result["variants"])
    code, out, _ = run(
        capsys, "content", "generate", "--type", "milestone", "--audience", "suppliers"
    )
    assert code == 0 and out.startswith("Source: offline")
    assert out.count("% clicks") == 5 and out.count("★") == 1 and "{{" not in out


def test_generate_learns_from_a_history_file(tmp_path, capsys):
    history = tmp_path / "sends.jsonl"
    rows = [
        SubjectOutcome(f"Ready for day {i}?", "nurture", "couples", 2000, 0, 200).to_dict()
        for i in range(20)
    ] + [
        SubjectOutcome(f"Your plans for day {i}", "nurture", "couples", 2000, 0, 20).to_dict()
        for i in range(20)
    ]
    history.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out, _ = run(
        capsys,
        "content",
        "generate",
        "--type",
        "nurture",
        "--context",
        '{"venue": "Hollow Barn"}',
        "--history",
        str(history),
        "--json",
    )
    result = json.loads(out)
    assert "learned from 80,000 sends of 40 subjects" in result["reason"]
    assert result["variants"][result["recommended"]]["subject"].endswith("?")


def test_bad_input_is_one_line_with_its_code(tmp_path, capsys):
    for args, code_text in (
        (["--type", "newsletter"], "content_request_invalid"),
        (["--type", "nurture", "--context", "[1]"], "content_request_invalid"),
        (["--type", "nurture", "--history", str(tmp_path / "none.jsonl")], "history_invalid"),
    ):
        code, out, err = run(capsys, "content", "generate", *args)
        assert code == 1 and out == "" and err.count("\n") == 1 and code_text in err


async def test_generate_through_an_llm_endpoint_in_its_own_process():
    server, runner = await start_chat_server("good")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wedsync",
            "content",
            "generate",
            "--type",
            "nurture",
            "--source",
            "llm",
            "--endpoint",
            server.url,
            "--model",
            "llama3.2",
            "--timeout-s",
            "10",
            "--json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await stop_chat_server(server, runner)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["source"] == "llm" and result["requested"] == "llm"
    assert result["variants"][1]["subject"] == "Eight weeks to go: book your tasting"
    assert server.requests[0]["model"] == "llama3.2"


def test_the_endpoint_is_set_per_profile_and_cleared(tmp_path, capsys, monkeypatch):
    import io

    profile = str(tmp_path / "p")
    monkeypatch.setattr(sys, "stdin", io.StringIO("sk-secret\n"))
    code, out, _ = run(
        capsys,
        "content",
        "endpoint",
        "--profile",
        profile,
        "--url",
        "http://127.0.0.1:11434/v1",
        "--model",
        "llama3.2",
        "--api-key-stdin",
        "--json",
    )
    assert code == 0
    shown = json.loads(out)
    assert shown == {
        "endpoint": "http://127.0.0.1:11434/v1",
        "model": "llama3.2",
        "timeout_s": 1.8,
        "api_key": "in the keyring",
    }
    code, out, _ = run(capsys, "content", "endpoint", "--profile", profile, "--clear", "--json")
    assert json.loads(out) == {"endpoint": None}


def test_validate_reports_rank_correlation_on_held_out_subjects(capsys):
    code, out, _ = run(capsys, "content", "validate", "--splits", "2", "--json")
    result = json.loads(out)
    assert code == 0 and len(result["splits"]) == 2
    assert all(s["spearman_rho"] > s["spearman_rho_prior"] for s in result["splits"])
