"""The headless CLI: JSON output, one-line errors on stderr, nothing half-written."""

import json
import os
import subprocess
import sys

import pytest

from client.store import Replica
from wedsync.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_campaign_commands_print_json(tmp_path, capsys):
    p = str(tmp_path / "p")
    code, out, _ = run(
        capsys,
        "client",
        "--profile",
        p,
        "campaign",
        "create",
        "--name",
        "Fair",
        "--type",
        "premium",
        "--json",
    )
    assert code == 0
    cid = json.loads(out)["id"]
    code, out, _ = run(
        capsys, "client", "--profile", p, "campaign", "set", cid, "budget_cents", "25000", "--json"
    )
    assert code == 0 and json.loads(out)["budget_cents"] == 25_000
    code, out, _ = run(capsys, "client", "--profile", p, "campaign", "list", "--json")
    (only,) = json.loads(out)["campaigns"]
    assert only["id"] == cid and only["type"] == "premium" and only["status"] == "draft"
    code, out, _ = run(capsys, "client", "--profile", p, "status", "--json")
    status = json.loads(out)
    assert status["queue"]["1"] == 2 and status["work_offline"] is False
    assert status["last_sync_ms"] is None and status["server_reachable"] is None
    run(capsys, "client", "--profile", p, "offline", "on")
    code, out, _ = run(capsys, "client", "--profile", p, "status", "--json")
    assert json.loads(out)["work_offline"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["event", "add", "--kind", "teleport"], "unknown kind"),
        (["event", "add", "--kind", "touchpoint", "--occurred-at", "yesterday"], "ISO-8601"),
        (["event", "add", "--kind", "lead", "--payload", "[1]"], "JSON object"),
        (["campaign", "set", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "budget_cents", "1"], "no campaign"),
        (["campaign", "show", "nope"], "not a campaign id"),
        (["sync"], "not logged in"),
    ],
)
def test_errors_are_one_line_on_stderr_with_a_nonzero_exit(tmp_path, capsys, args, message):
    code, out, err = run(capsys, "client", "--profile", str(tmp_path / "p"), *args)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("wedsync: error [") and message in err


def test_import_is_all_or_nothing_and_names_the_bad_line(tmp_path, capsys):
    good = {
        "kind": "conversion",
        "contact": "a@b.test",
        "value_cents": 5000,
        "occurred_at": "2026-05-01T10:00:00Z",
        "channel": "wedding_fair",
    }
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "value_cents": "lots"}) + "\n")
    code, _, err = run(
        capsys, "client", "--profile", str(tmp_path / "p"), "event", "import", str(path)
    )
    assert code == 1 and "events.jsonl:2" in err and "value_cents" in err
    assert Replica(tmp_path / "p").event_count() == 0
    lines = [json.dumps({**good, "id": f"01ARZ3NDEKTSV4RRFFQ69G5FA{c}"}) for c in "ABC"]
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = run(
        capsys, "client", "--profile", str(tmp_path / "p"), "event", "import", str(path), "--json"
    )
    assert json.loads(out) == {"imported": 3, "already_present": 0}
    code, out, _ = run(
        capsys, "client", "--profile", str(tmp_path / "p"), "event", "import", str(path), "--json"
    )
    assert json.loads(out) == {"imported": 0, "already_present": 3}


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["client"])
    assert info.value.code == 2


def test_login_without_a_keyring_says_so_and_names_the_fix(tmp_path):
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    # The login never reaches the server: the keyring is checked when the token is stored, so
    # point it at a server that answers, started by the admin command's sibling.
    from tests.conftest import free_port

    port = free_port()
    data = tmp_path / "srv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "wedsync",
            "admin",
            "--data-dir",
            str(data),
            "create-user",
            "--email",
            "m@x.test",
            "--password",
            "password-one",
            "--role",
            "marketer",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wedsync",
            "server",
            "--data-dir",
            str(data),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert b"listening" in server.stdout.readline()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "wedsync",
                "client",
                "--profile",
                str(tmp_path / "p"),
                "login",
                "--server",
                f"http://127.0.0.1:{port}",
                "--email",
                "m@x.test",
                "--password",
                "password-one",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.terminate()
        server.wait(10)
    assert result.returncode == 1
    assert "keyring_unavailable" in result.stderr and "gnome-keyring" in result.stderr
    assert result.stderr.count("\n") == 1
    # a failed login leaves the profile as it was
    assert Replica(tmp_path / "p").get_setting("server_url") is None


def test_every_command_is_routed_to_the_group_that_declares_it() -> None:
    import argparse
    import importlib

    from wedsync.cli import GROUPS

    declared = {}
    for module in set(GROUPS.values()) - {"wedsync.cli"}:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub, argparse.ArgumentParser(add_help=False))
        declared.update(dict.fromkeys(sub.choices, module))
    assert {k: v for k, v in GROUPS.items() if v != "wedsync.cli"} == declared


def test_content_is_routed_to_the_client_group_and_help_loads_no_numpy() -> None:
    """Registering every group (``wedsync --help``) imports no handler module: the content
    commands' numpy, scipy and aiohttp load only when one of them runs."""
    from wedsync.cli import GROUPS

    assert GROUPS["content"] == "client.cli"
    code = (
        "import sys; from wedsync.cli import build_parser; build_parser([]); "
        "build_parser(['content', 'generate', '--type', 'nurture']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'scipy', 'aiohttp', 'shared')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path):
    """`wedsync ... | head`: no traceback, the shell's SIGPIPE status, as other Unix tools."""
    import sys

    profile = tmp_path / "p"
    replica = Replica(profile)
    replica.capture_many(
        [replica.make_event(kind="lead", contact=f"c{i}@x.test") for i in range(2000)]
    )
    replica.close()
    # the command writes, the reader reads a little and goes away, then (told through stdin,
    # so the order does not depend on timing) the command writes again
    code = (
        "import sys; from wedsync.cli import main; "
        "main(['client', '--profile', sys.argv[1], 'status', '--json']); sys.stdout.flush(); "
        "sys.stdin.read(); "
        "sys.exit(main(['client', '--profile', sys.argv[1], 'status']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(profile)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for line in proc.stdout:  # the first output, whole: its writes are over
        if line == b"}\n":
            break
    proc.stdout.close()  # the reader goes away while the command is still running
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err
    assert proc.returncode == 141


def test_attribution_errors_use_the_one_error_format(tmp_path, capsys):
    assert main(["attribution", str(tmp_path / "missing.csv")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("wedsync: error [unreadable_file]: cannot read ")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,total_conversions\nA > B,x\n", encoding="utf-8")
    assert main(["attribution", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("wedsync: error [")


def test_a_server_on_a_port_in_use_exits_at_once_saying_so(tmp_path):
    import socket
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "wedsync", "server", "--data-dir", str(tmp_path / "d")]
            + ["--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        f"wedsync: error [address_in_use]: 127.0.0.1:{port} is in use"
    )


def test_a_server_whose_data_dir_is_not_a_database_exits_saying_why(tmp_path):
    import socket
    import sys

    data = tmp_path / "d"
    data.mkdir()
    (data / "server.sqlite").write_bytes(b"this is not a database file" * 100)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = subprocess.run(
        [sys.executable, "-m", "wedsync", "server", "--data-dir", str(data), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("wedsync: error [startup_failed]: ")


def test_version_prints_the_installed_distributions_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wedsync {version('wedsync-marketing')} (Python ")
