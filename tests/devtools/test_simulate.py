"""The simulator: every fault is injected, every checker passes on the real code, the same seed
replays the same run, and the checkers do fail when a part is deliberately broken."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import msgpack
import pytest

from devtools.simulate import FAULT_KINDS, SimNetwork, simulate
from devtools.simulate.network import UP
from server.writer import EventsJob, PriorityWriter
from shared.protocol import messages as m
from wedsync.cli import main

CI_SEEDS = (1, 2, 3)
CI_STEPS = 300


def statuses(report: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checkers"]}


def failed(report: dict, name: str) -> dict:
    checker = next(c for c in report["checkers"] if c["name"] == name)
    assert checker["status"] == "fail", f"{name} should have failed: {checker}"
    return checker


@pytest.mark.slow
@pytest.mark.parametrize("seed", CI_SEEDS)
def test_seeded_run_injects_every_fault_and_passes_every_checker(seed, tmp_path):
    report = simulate(seed=seed, devices=3, steps=CI_STEPS, check_every_step=True, workdir=tmp_path)
    print(f"seed {seed} faults injected: {json.dumps(report['faults'])}")
    missing = [kind for kind in FAULT_KINDS if report["faults"][kind] == 0]
    assert not missing, f"seed {seed} never injected {missing}: {report['faults']}"
    bad = [c for c in report["checkers"] if c["status"] == "fail"]
    assert not bad, json.dumps(bad, indent=2)
    assert report["ok"] and report["events_captured"] > 100
    assert statuses(report)["conflicts"] in ("pass", "skipped")


def test_same_seed_prints_the_same_json(capsys):
    outputs = []
    for seed in (7, 7, 8):
        code = main(["simulate", "--seed", str(seed), "--devices", "3", "--steps", "80", "--json"])
        assert code == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]
    report = json.loads(outputs[0])
    assert report["seed"] == 7 and set(report["faults"]) == set(FAULT_KINDS)


def test_human_output_names_the_seed_to_replay(capsys):
    assert main(["simulate", "--seed", "3", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "seed 3" in out and "PASS" in out and "exactly_once" in out


# ----------------------------------------------------------------------- broken parts
# Each part below is broken on purpose, here in the test only, to prove the checkers can fail.


class AckBeforeCommitWriter(PriorityWriter):
    """A write-behind store: it acks events at once and commits them a few seconds later, so
    a server restart in between loses what it acked."""

    async def submit(self, priority, size, run):
        if not isinstance(run, EventsJob):  # campaign updates: keep the real path
            return await super().submit(priority, size, run)

        def later() -> None:
            future = self.enqueue(priority, size, run)
            future.add_done_callback(lambda f: f.cancelled() or f.exception())

        asyncio.get_running_loop().call_later(5.0, later)
        return size, 0


def test_checkers_catch_a_store_that_acks_before_it_commits(tmp_path):
    report = simulate(
        seed=2, devices=3, steps=200, workdir=tmp_path, writer_factory=AckBeforeCommitWriter
    )
    assert report["faults"]["server_restart"] > 0
    checker = failed(report, "exactly_once")
    assert any(c["problem"] == "captured but not on the server" for c in checker["counterexample"])
    assert not report["ok"]


class ForgedAckNetwork(SimNetwork):
    """A network that drops every fifth batch of events yet hands the device an ACK for it."""

    dropped = 0

    def transmit(self, src, data):
        frame = msgpack.unpackb(data, raw=False)
        if src.direction == UP and frame.get("t") == m.MsgType.PUSH and "e" in frame:
            self.dropped += 1
            if self.dropped % 5 == 0:
                forged = m.ack(frame["b"], stored=len(frame["e"]), duplicates=0)
                loop = asyncio.get_running_loop()
                loop.call_later(0.01, self.deliver, src.peer, src, forged)
                return
        super().transmit(src, data)


def test_checkers_catch_a_network_that_drops_an_acked_frame(tmp_path):
    report = simulate(
        seed=4, devices=3, steps=150, workdir=tmp_path, network_factory=ForgedAckNetwork
    )
    checker = failed(report, "exactly_once")
    example = checker["counterexample"][0]
    assert example["problem"] == "captured but not on the server" and example["event"]


class NoDocsNetwork(SimNetwork):
    """A network that never delivers campaign documents to devices."""

    def transmit(self, src, data):
        if src.direction != UP and msgpack.unpackb(data, raw=False).get("t") == m.MsgType.DOCS:
            return
        super().transmit(src, data)


def test_convergence_checker_catches_replicas_that_never_receive_docs(tmp_path):
    report = simulate(seed=5, devices=3, steps=150, workdir=tmp_path, network_factory=NoDocsNetwork)
    checker = failed(report, "convergence")
    assert checker["counterexample"][0]["campaign"]


def test_priority_checker_catches_an_engine_that_drains_bulk_first(tmp_path, monkeypatch):
    monkeypatch.setattr("client.sync.PRIORITY_CLASSES", (3, 2, 1, 0))
    report = simulate(seed=6, devices=3, steps=150, workdir=tmp_path)
    checker = failed(report, "priority")
    assert checker["counterexample"][0]["class0_not_acked"]


def test_same_seed_gives_the_same_json_across_processes_and_hash_seeds():
    outputs = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "wedsync",
                "simulate",
                "--seed",
                "9",
                "--steps",
                "80",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def _automation(report: dict) -> dict:
    return next(c for c in report["checkers"] if c["name"] == "automation")


def test_the_engine_sends_and_its_checker_passes(tmp_path):
    report = simulate(seed=1, devices=3, steps=300, workdir=tmp_path)
    result = _automation(report)
    assert result["status"] == "pass" and report["mail"]["accepted"] > 0
    assert report["running_campaigns"] > 0


def test_automation_checker_catches_sends_to_suppressed_contacts(tmp_path, monkeypatch):
    """An engine that forgets suppression (at advance and at send time) is caught."""
    import shared.automation.journey as journey
    from server.automation import mailer

    monkeypatch.setattr(mailer, "suppression_reason", lambda *a, **k: None)
    monkeypatch.setattr(journey, "suppression_reason", lambda *a, **k: None)
    result = _automation(simulate(seed=3, devices=3, steps=300, workdir=tmp_path))
    assert result["status"] == "fail"
    assert "handed over after the suppression" in json.dumps(result["counterexample"])


def test_automation_checker_catches_repeats_beyond_the_one_in_flight(tmp_path, monkeypatch):
    """A mailer that never records a send as sent repeats it after every restart: caught."""
    from server.automation import mailer

    record = mailer.Mailer._record

    def forgetful(self, storage, seq, *, send, message_id, result):  # noqa: ANN001, ANN202
        out = record(self, storage, seq, send=send, message_id=message_id, result=result)
        storage.update_send(send.id, at_ms=self._now(), status="sending", lease_until_ms=0)
        return out

    monkeypatch.setattr(mailer.Mailer, "_record", forgetful)
    result = _automation(simulate(seed=1, devices=3, steps=300, workdir=tmp_path))
    assert result["status"] == "fail" and "accepted" in json.dumps(result["counterexample"])
