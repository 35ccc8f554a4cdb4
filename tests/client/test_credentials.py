"""Device tokens: refused by a keyring that keeps them unencrypted unless the user chose it, and
the headless recipe the README gives (gnome-keyring in a D-Bus session) working end to end.

Every keyring here lives in tmp_path (its own XDG directories) or in memory: never the user's."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import keyring
import keyring.backends.chainer
import pytest
from keyrings.alt.file import PlaintextKeyring

from client.credentials import (
    ALLOW_PLAINTEXT_ENV,
    SERVICE,
    CredentialsError,
    InsecureKeyring,
    KeyringTokens,
    account_for,
)
from client.store import Replica
from tests.conftest import PASSWORD, USERS, InMemoryKeyring
from wedsync.cli import main


@pytest.fixture
def plaintext(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """keyrings.alt's PlaintextKeyring configured as keyring would pick it on its own (no
    variable names it); returns the file it would write."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv(ALLOW_PLAINTEXT_ENV, raising=False)
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)  # the autouse fixture puts the in-memory one back afterwards
    return Path(backend.file_path)


def test_a_plaintext_keyring_nobody_chose_is_refused_and_nothing_is_written(plaintext: Path):
    with pytest.raises(InsecureKeyring) as refused:
        KeyringTokens().set("device:1", "secret-token")
    message = str(refused.value)
    assert refused.value.code == "keyring_insecure"
    assert "keyrings.alt.file.PlaintextKeyring" in message
    assert f"{ALLOW_PLAINTEXT_ENV}=1" in message and "gnome-keyring" in message
    assert not plaintext.exists()
    with pytest.raises(InsecureKeyring):
        KeyringTokens().get("device:1")  # nor read from it


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (ALLOW_PLAINTEXT_ENV, "1"),
        ("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring"),
    ],
)
def test_a_plaintext_keyring_the_user_chose_is_used(
    plaintext: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
):
    monkeypatch.setenv(variable, value)
    tokens = KeyringTokens()
    tokens.set("device:1", "secret-token")
    assert tokens.get("device:1") == "secret-token"
    assert plaintext.exists()
    tokens.delete("device:1")
    assert tokens.get("device:1") is None


def test_a_keyring_config_file_naming_the_backend_is_a_choice(tmp_path: Path, plaintext: Path):
    config = tmp_path / "config" / "python_keyring"
    config.mkdir(parents=True)
    (config / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring=keyrings.alt.file.PlaintextKeyring\n"
    )
    KeyringTokens().set("device:1", "secret-token")
    assert plaintext.exists()


def test_a_chain_uses_its_safe_member_and_never_the_plaintext_one(plaintext: Path):
    safe = InMemoryKeyring()

    class Chain(keyring.backends.chainer.ChainerBackend):
        backends = [safe, PlaintextKeyring()]  # what keyring builds with a Secret Service

    keyring.set_keyring(Chain())
    tokens = KeyringTokens()
    tokens.set("device:1", "secret-token")
    assert safe.items == {(SERVICE, "device:1"): "secret-token"}
    assert tokens.get("device:1") == "secret-token" and not plaintext.exists()


def test_no_keyring_at_all_names_the_fix(monkeypatch: pytest.MonkeyPatch):
    import keyring.backends.fail

    monkeypatch.delenv(ALLOW_PLAINTEXT_ENV, raising=False)
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(CredentialsError) as refused:
        KeyringTokens().set("device:1", "secret-token")
    assert refused.value.code == "keyring_unavailable" and "gnome-keyring" in str(refused.value)


async def test_login_with_a_plaintext_keyring_fails_with_one_line(server, plaintext, capsys):
    email = USERS["marketer"][0]
    profile = str(server.tmp / "p")
    args = ["client", "--profile", profile, "login", "--server", server.url]
    code = await asyncio.to_thread(main, [*args, "--email", email, "--password", PASSWORD])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("wedsync: error [keyring_insecure]: ") and err.count("\n") == 1
    assert not plaintext.exists()


HEADLESS = shutil.which("gnome-keyring-daemon") and shutil.which("dbus-run-session")


@pytest.mark.skipif(not HEADLESS, reason="needs gnome-keyring and dbus (apt, see README)")
async def test_the_readme_headless_recipe_logs_in_and_syncs_across_sessions(server, tmp_path):
    """README, 'Keyring': a D-Bus session with gnome-keyring unlocked by a password. The token
    survives into the next session, encrypted on disk; keyrings.alt (installed with the dev
    extra) stays unused."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
        and not k.startswith(("XDG_", "PYTHON_KEYRING", "WEDSYNC_"))
    }
    env.update(HOME=str(home), WEDSYNC_KEYRING_PASSWORD="a long keyring passphrase")
    wedsync = f"{sys.executable} -m wedsync client --profile {tmp_path / 'laptop'}"
    unlock = 'printf %s "$WEDSYNC_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock >/dev/null'

    async def session(command: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            f"{unlock} && {command}",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        return out.decode()

    email = USERS["marketer"][0]
    login = await session(
        f"{wedsync} login --server {server.url} --email {email} --password '{PASSWORD}' --json"
    )
    assert json.loads(login)["user"] == email
    synced = await session(f"{wedsync} sync --json")  # a new session reads the token back
    assert json.loads(synced)["rejected"] == 0
    keyrings = home / ".local" / "share" / "keyrings"
    assert any(keyrings.iterdir())
    assert not (home / ".local" / "share" / "python_keyring" / "keyring_pass.cfg").exists()
    replica = Replica(tmp_path / "laptop")
    account = account_for(replica.device_id)
    replica.close()
    read = f"import keyring; print(keyring.get_password('{SERVICE}', '{account}') or '')"
    token = (await session(f'{sys.executable} -c "{read}"')).strip()
    stored = b"".join(p.read_bytes() for p in keyrings.iterdir())
    assert token and token.encode() not in stored
