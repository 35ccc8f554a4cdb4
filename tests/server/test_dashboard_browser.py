"""The CMO's dashboard in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium against a real server with the seed-demo's data.

One browser for the module; the tests are one story, in order: sign in and read the tiles,
an event pushed through sync appears without a reload, the network cut still shows the last
snapshot, and after signing out another org's user sees none of it. Without the browser they
skip, saying why (``.ci/run`` installs it). ``WEDSYNC_SCREENSHOTS=DIR`` also saves the page at a
desktop's and a phone's width.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from pathlib import Path

import pytest

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from tests.conftest import PASSWORD
from tests.server.dashboard_server import CMO, MARKETER, OTHER, ThreadedServer, seed_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "no chromium/chromedriver here: apt-get install chromium chromium-driver",
        allow_module_level=True,
    )

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT_S = 20


class Site:
    """The server and where the tests keep their files; ``cut`` and ``restore`` take the
    server away and bring it back on the same address and store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = ThreadedServer(root / "data").start()

    def cut(self) -> None:
        self.server.stop()

    def restore(self) -> None:
        self.server = ThreadedServer(self.server.data_dir, port=self.server.port).start()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboard")
    seed_store(root / "data")
    running = Site(root)
    try:
        yield running
    finally:
        running.server.stop()


@pytest.fixture(scope="module")
def driver():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=en-US"):  # fmt: skip
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    browser = webdriver.Chrome(options=options, service=service)
    browser.set_page_load_timeout(WAIT_S)
    try:
        yield browser
    finally:
        browser.quit()


def device_call(server: ThreadedServer, root: Path, email: str, name: str, fn):
    """Log a device in (a real SyncEngine in a profile of its own) and run ``fn(engine)``."""

    async def run():
        replica = Replica(root / "profiles" / name)
        engine = SyncEngine(replica, tokens=MemoryTokens())
        try:
            await engine.login(server.url, email, PASSWORD, name)
            return await fn(engine)
        finally:
            await engine.close()
            replica.close()

    return asyncio.run(run())


def sign_in(driver, server: ThreadedServer, email: str) -> None:
    driver.get(f"{server.url}/dashboard")
    WebDriverWait(driver, WAIT_S).until(lambda d: d.current_url.endswith("/dashboard/login"))
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait_for_tiles(driver)


def on_the_dashboard(driver, server: ThreadedServer) -> None:
    """Signed in as the CMO with the tiles shown (each test may also run alone)."""
    if not driver.current_url.startswith(f"{server.url}/dashboard") or (
        driver.execute_script("return document.querySelectorAll('#kpis .tile').length") != 8
    ):
        sign_in(driver, server, CMO)


def wait_for_tiles(driver) -> None:
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script("return document.querySelectorAll('#kpis .tile').length") == 8
    )


def tile(driver, key: str) -> dict:
    """A tile as shown, read at once (the page redraws its tiles on each report)."""
    return driver.execute_script(
        "const t = document.querySelector(`#kpis .tile[data-kpi='${arguments[0]}']`);"
        "return {value: t.dataset.value, text: t.querySelector('.value').textContent,"
        " target: t.querySelector('.target').textContent, state: t.className};",
        key,
    )


def text_of(driver, selector: str) -> str:
    return driver.execute_script("return document.querySelector(arguments[0]).innerText", selector)


def status_of(driver) -> tuple[str, bool]:
    """Whether the page says it is offline ("1") and whether it states an "as of" time."""
    return tuple(
        driver.execute_script(
            "const s = document.getElementById('status');"
            "return [s.dataset.offline || '', s.textContent.includes('as of')];"
        )
    )


def revenue_shown(driver) -> int:
    """The revenue the attributed-revenue tile states ("of $1,234 revenue, ...")."""
    text = tile(driver, "attributed_revenue")["target"]
    return int(text.split(" revenue")[0].removeprefix("of $").replace(",", ""))


def save_page(driver, name: str, width: int) -> None:
    """A full-page PNG at ``width`` CSS pixels into $WEDSYNC_SCREENSHOTS (if set)."""
    out = os.environ.get("WEDSYNC_SCREENSHOTS")
    if not out:
        return
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / name).write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_sign_in_and_the_tiles_show_the_reports_numbers(site, driver):
    server, root = site.server, site.root
    sign_in(driver, server, CMO)
    body = driver.find_element(By.TAG_NAME, "body")
    window = body.get_attribute("data-from"), body.get_attribute("data-to")

    async def report(engine):
        return await engine.api("GET", f"/api/v1/reports/roi?from={window[0]}&to={window[1]}")

    expected = device_call(server, root, MARKETER, "reader", report)
    attributed = tile(driver, "attributed_revenue")
    value = float(attributed["value"])
    assert value == expected["summary"]["attributed_revenue"] > 0
    assert attributed["text"] == f"${value:,.0f}"
    roi = tile(driver, "roi")
    assert float(roi["value"]) == expected["summary"]["total_roi_pct"]
    k = tile(driver, "viral_coefficient")
    assert float(k["value"]) == expected["viral"]["viral_coefficient"]
    assert k["state"].split()[-1] in ("healthy", "warning", "critical")
    # campaigns by name, never by id
    names = [c["name"] for c in expected["campaigns"]]
    table = text_of(driver, "#campaigns")
    assert names and all(n in table for n in names)
    assert not any(c["campaign"] in driver.page_source for c in expected["campaigns"])
    # at a phone's width nothing is wider than the screen (wide tables scroll in their panel)
    metrics = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        widths = driver.execute_script(
            "return [document.documentElement.scrollWidth,"
            " document.querySelector('#kpis .tile').getBoundingClientRect().width]"
        )
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert widths[0] <= 390 and 120 < widths[1] < 195  # two tiles a row
    save_page(driver, "web-dashboard.png", 1280)
    save_page(driver, "web-dashboard-390.png", 390)


def test_an_event_pushed_through_sync_appears_without_a_reload(site, driver):
    server, root = site.server, site.root
    on_the_dashboard(driver, server)
    driver.execute_script("window.notReloaded = true")
    before = revenue_shown(driver)

    async def push(engine):
        engine.replica.capture(kind="conversion", value_cents=432_100, channel="email")
        await engine.sync_once()

    device_call(server, root, MARKETER, "venue-laptop", push)
    WebDriverWait(driver, WAIT_S).until(lambda d: revenue_shown(d) == before + 4_321)
    assert driver.execute_script("return window.notReloaded") is True
    assert status_of(driver) == ("0", True)


def test_with_the_network_cut_a_reload_shows_the_last_snapshot(site, driver):
    on_the_dashboard(driver, site.server)
    shown = revenue_shown(driver)
    # the service worker has kept the page and the last report by now
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script("return !!navigator.serviceWorker.controller")
    )
    # the browser's offline mode (the page's own requests), and the server gone too (the
    # service worker's requests are not the page's: DevTools' emulation does not reach them)
    driver.execute_cdp_cmd("Network.enable", {})
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    site.cut()
    try:
        driver.refresh()
        wait_for_tiles(driver)
        WebDriverWait(driver, WAIT_S).until(lambda d: status_of(d)[0] == "1")
        assert "last snapshot as of" in text_of(driver, "#status")
        assert driver.title == "WedSync Marketing dashboard"
        assert revenue_shown(driver) == shown
    finally:
        online = {**offline, "offline": False}
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", online)
        site.restore()
    driver.refresh()  # the session outlives the server's restart: it is in the store
    wait_for_tiles(driver)
    WebDriverWait(driver, WAIT_S).until(lambda d: status_of(d) == ("0", True))


def test_after_signing_out_another_orgs_user_sees_none_of_it(site, driver):
    server, root = site.server, site.root
    on_the_dashboard(driver, server)
    org_a_campaigns = driver.execute_script(
        "return [...document.querySelectorAll('#campaigns tbody td:first-child')]"
        ".map(td => td.textContent)"
    )
    assert org_a_campaigns
    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    WebDriverWait(driver, WAIT_S).until(lambda d: d.current_url.endswith("/dashboard/login"))
    # the session is revoked on the server: its report is refused
    status = driver.execute_async_script(
        "const done = arguments[0];"
        "fetch('/dashboard/report').then(r => done(r.status), () => done(0));"
    )
    assert status == 401

    async def push(engine):
        engine.replica.capture(kind="conversion", value_cents=99_900, channel="referral")
        await engine.sync_once()

    device_call(server, root, OTHER, "org-b-laptop", push)
    sign_in(driver, server, OTHER)
    assert revenue_shown(driver) == 999
    page = driver.page_source
    assert not any(name in page for name in org_a_campaigns)
    assert text_of(driver, "#campaigns").endswith("Nothing in this period.")
