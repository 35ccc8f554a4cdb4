"""The server reaches its store only through ``server.storage``: one factory, protocols per
aggregate, rows as values; SQLite is known to the SQLite backend alone, PostgreSQL to the
PostgreSQL backend alone."""

import ast
from pathlib import Path

from server.storage import (
    AuditEntry,
    DataVersion,
    LoggedUpdate,
    UserSummary,
    open_storage,
)

SERVER = Path(__file__).resolve().parents[2] / "server"
BACKEND = SERVER / "storage" / "sqlite"
PG_BACKEND = SERVER / "storage" / "postgres"
#: the package keeps the backend's class at its former address for importers outside the server
FORMER_ADDRESS = SERVER / "storage" / "__init__.py"


def test_only_the_postgres_backend_imports_psycopg_or_names_its_class():
    wrong = []
    for path in sorted(SERVER.rglob("*.py")):
        if PG_BACKEND in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("psycopg", "psycopg_pool", "asyncpg") for n in names):
                wrong.append(f"{path.relative_to(SERVER)}:{node.lineno} imports {names}")
            if isinstance(node, ast.Name) and node.id == "PostgresStorage":
                wrong.append(f"{path.relative_to(SERVER)}:{node.lineno} names PostgresStorage")
    assert wrong == []


def test_only_the_sqlite_backend_imports_sqlite_or_reaches_for_a_connection():
    wrong = []
    for path in sorted(SERVER.rglob("*.py")):
        if BACKEND in path.parents or PG_BACKEND in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("sqlite3", "sqlite_utils") for n in names):
                wrong.append(f"{path.relative_to(SERVER)}:{node.lineno} imports {names}")
            if isinstance(node, ast.Attribute) and node.attr == "db":
                wrong.append(f"{path.relative_to(SERVER)}:{node.lineno} reads .db")
            if isinstance(node, ast.Name) and node.id == "SQLiteStorage" and path != FORMER_ADDRESS:
                wrong.append(f"{path.relative_to(SERVER)}:{node.lineno} names SQLiteStorage")
    assert wrong == []


def test_the_factory_opens_a_migrated_store_that_answers_in_values(tmp_path):
    storage = open_storage(tmp_path)
    reader = storage.reader()
    try:
        org = storage.ensure_org("Org A")
        user = storage.create_user(org_id=org, email="ana@a.test", password_hash="!", role="admin")
        storage.audit(
            org_id=org,
            user_id=user,
            email="ana@a.test",
            device_id=None,
            action="create_user",
            target="bo@a.test",
            outcome="ok",
            detail={"role": "viewer"},
            at_ms=5,
        )
        with storage.transaction():
            storage.log_update(
                campaign_id="c1",
                org_id=org,
                device_id=None,
                user_id=user,
                update=b"\x01",
                meta={},
                at_ms=6,
            )
        # another handle on the same store sees what was committed
        (summary,) = reader.users(org)
        assert summary == UserSummary(user, "ana@a.test", "admin", summary.created_at_ms)
        (entry,) = reader.audit_entries(org, 10)
        assert isinstance(entry, AuditEntry)
        assert (entry.action, entry.outcome, entry.detail) == (
            "create_user",
            "ok",
            {"role": "viewer"},
        )
        assert reader.updates_after(org, 0) == [LoggedUpdate(1, "c1", b"\x01")]
        assert reader.data_version(org) == DataVersion(commits=0, campaign_updates=1)
    finally:
        reader.close()
        storage.close()


def test_contacts_merge_by_the_shared_rule_whatever_the_order(tmp_path):
    storage = open_storage(tmp_path)
    writes = [
        ({"name": "Ana", "phone": "1"}, 10, "dev-a"),
        ({"name": "Anna"}, 12, "dev-b"),
        ({"phone": "2"}, 11, "dev-b"),
        ({"name": "Old"}, 9, "dev-c"),
    ]
    try:
        with storage.transaction():
            for org, order in (("o1", writes), ("o2", writes[::-1])):
                for fields, hlc, device in order:
                    storage.merge_contact(
                        org_id=org, email="ana@x.test", fields=fields, hlc=hlc, device_id=device
                    )
        assert storage.contact("o1", "ana@x.test") == {"name": "Anna", "phone": "2"}
        assert storage.contact("o2", "ana@x.test") == storage.contact("o1", "ana@x.test")
        assert [c.email for c in storage.contacts_of("o1")] == ["ana@x.test"]
    finally:
        storage.close()
