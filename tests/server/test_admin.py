"""`wedsync admin`: what an operator does on a server's data directory."""

import pytest

from server import admin
from server.errors import BadRequest

PASSWORD = "correct horse battery"


def test_a_user_without_org_joins_the_only_org_there_is(tmp_path):
    admin.create_user(tmp_path, email="a@x.test", password=PASSWORD, role="admin", org="Barn Co")
    made = admin.create_user(tmp_path, email="b@x.test", password=PASSWORD, role="marketer")
    assert made["org"] == "Barn Co"


def test_a_user_without_org_on_a_new_data_dir_gets_the_default_org(tmp_path):
    made = admin.create_user(tmp_path, email="a@x.test", password=PASSWORD, role="admin")
    assert made["org"] == admin.DEFAULT_ORG


def test_with_several_orgs_a_user_without_org_is_refused_listing_them(tmp_path):
    admin.create_user(tmp_path, email="a@x.test", password=PASSWORD, role="admin", org="Barn Co")
    admin.create_user(tmp_path, email="b@x.test", password=PASSWORD, role="admin", org="Rose Ltd")
    with pytest.raises(BadRequest, match="choose one with --org: 'Barn Co', 'Rose Ltd'"):
        admin.create_user(tmp_path, email="c@x.test", password=PASSWORD, role="viewer")
