import aiohttp

from client.credentials import account_for
from devtools.seed import seed_demo
from tests.conftest import start_server


async def test_roi_report_over_http_from_seeded_data(tmp_path):
    server = await start_server(tmp_path)
    try:
        summary = seed_demo(
            server.data_dir, org="Org A", seed=3, suppliers=20, couples=200, campaigns=4, days=60
        )
        assert summary["events"] > 1000 and summary["campaigns"] == 4
        assert server.stats()["events"]["total"] == summary["events"]
        viewer = await server.device("v", "viewer")
        report = await viewer.api("GET", "/api/v1/reports/roi")
        assert report["summary"]["conversions"] > 0
        assert len(report["campaigns"]) == 4
        assert {"attribution", "viral", "recommendations", "predictions"} <= set(report)
        windowed = await viewer.api(
            "GET", f"/api/v1/reports/roi?from={summary['from']}&to={summary['from'] + 86_400_000}"
        )
        assert windowed["summary"]["conversions"] <= report["summary"]["conversions"]
        # another org sees none of it
        other = await server.device("o", "other")
        theirs = await other.api("GET", "/api/v1/reports/roi")
        assert theirs["summary"]["conversions"] == 0
        # bad window: a precise 400
        token = server.tokens.get(account_for(viewer.replica.device_id))
        async with (
            aiohttp.ClientSession() as s,
            s.get(
                server.url + "/api/v1/reports/roi?from=yesterday",
                headers={"Authorization": f"Bearer {token}"},
            ) as resp,
        ):
            assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_request"
    finally:
        for e in server.engines:
            await e.close()
        await server.runner.cleanup()


def test_seeding_twice_with_the_same_seed_stores_nothing_new(tmp_path):
    same = {"seed": 5, "suppliers": 5, "couples": 50, "campaigns": 2, "days": 30}
    first = seed_demo(tmp_path, org="X", until_ms=1_717_200_000_000, **same)
    again = seed_demo(tmp_path, org="X", until_ms=1_717_200_000_000, **same)
    assert again["events"] == 0 and again["already_present"] == first["events"]
