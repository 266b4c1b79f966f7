"""The web catalogue in a real browser: Debian's chromium and chromium-driver through Selenium,
against `unioncat serve` on the demo consortium.  Search, facets, paging, the record page, the
language switch, the keyboard, a 360-pixel phone, and axe-core (WCAG 2.1 A and AA rules) on the
home, results and record pages at phone and desktop widths.

`make test` installs chromium and chromium-driver (apt) and axe-core 4.11 (npm) first.
Screenshots of the three pages at both widths are written to a temporary folder, or to
docs/screenshots with UNIONCAT_SCREENSHOTS=docs (how the README's pictures are made).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT
from tests.support.demo_site import demo_site
from tests.support.serving import unioncat_serve
from unioncat.cli import cli

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
AXE = ROOT / ".venv" / "axe-core" / "axe.min.js"
LIANCHENGJUE = "M736a9c241586"
PHONE, DESKTOP = (360, 780), (1280, 900)


STAFF = ("wang", "cataloguer-password-1")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = demo_site(tmp_path_factory.mktemp("browser"))
    added = CliRunner().invoke(cli, ["--config", str(site), "staff", "add", STAFF[0], "--role", "cataloguer",
                                     "--password-stdin"], input=STAFF[1] + "\n")
    assert added.exit_code == 0, added.output
    with unioncat_serve(site, "/") as url:
        yield url.rstrip("/")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: `make test` installs Debian's {package} (apt-get install {package})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--lang=en-US",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("UNIONCAT_SCREENSHOTS") == "docs":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path


def size(driver: Any, width_height: tuple[int, int]) -> None:
    driver.set_window_size(*width_height)
    # the window's outer size includes no chrome in headless mode; check the viewport
    inner = driver.execute_script("return window.innerWidth")
    if inner != width_height[0]:
        driver.set_window_size(width_height[0] + (width_height[0] - inner), width_height[1])


def open_page(driver: Any, url: str) -> None:
    driver.get(url)
    assert driver.execute_script("return document.readyState") == "complete"


def follow(driver: Any, act: Callable[[], object]) -> None:
    """Do what makes the browser load another page (a click on a link or a button, Enter in a
    form) and wait for that page: chromedriver does not always wait for the navigation a click or
    a key press starts (Chromium 156.0.8078.114 returned before it, and the test read the old page)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    act()
    # between the two documents a script or a lookup may find no page to run in: asked again
    wait = WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,))
    wait.until(EC.staleness_of(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` fetches axe-core with npm (npm pack axe-core@4.11.4)")
    from axe_selenium_python import Axe

    axe = Axe(driver, script_url=str(AXE))
    axe.inject()
    result = axe.run(options="{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
                             "'best-practice']}}")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def csp_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]
            or "Refused to" in e["message"]]


def count(driver: Any) -> int:
    from selenium.webdriver.common.by import By

    return int("".join(c for c in driver.find_element(By.TAG_NAME, "h1").text if c.isdigit()))


def test_search_facets_paging_and_record(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    size(browser, DESKTOP)
    open_page(browser, server + "/?lang=en")
    box = browser.find_element(By.ID, "q")
    follow(browser, lambda: box.send_keys("history", Keys.ENTER))
    assert "/search?q=history" in browser.current_url
    total = count(browser)
    assert total > 40
    facet = browser.find_element(By.XPATH, "//section[@class='facet'][h3='Library']//a[.='City Central Library']")
    expected = int(facet.find_element(By.XPATH, "../span[@class='n']").text.replace(",", ""))
    follow(browser, facet.click)
    assert "library=CITY" in browser.current_url and count(browser) == expected < total
    assert "City Central Library" in browser.find_element(By.CSS_SELECTOR, ".chosen").text
    first_page = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "li.hit h2 a")]
    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav.pages a[rel=next]").click)
    assert "page=2" in browser.current_url
    assert browser.find_element(By.CSS_SELECTOR, "ol.hitlist").get_attribute("start") == "21"
    second_page = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "li.hit h2 a")]
    assert second_page and not set(first_page) & set(second_page)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "li.hit h2 a").click)
    assert "/record/" in browser.current_url
    assert browser.find_element(By.ID, "holdings").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert not csp_errors(browser)


def test_record_page_borrowing_and_sort(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    size(browser, DESKTOP)
    open_page(browser, f"{server}/record/{LIANCHENGJUE}?lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text == "連城訣"
    rows = browser.find_elements(By.CSS_SELECTOR, "#holdings tbody tr")
    assert rows[0].get_attribute("class") == "status-available"
    Select(browser.find_element(By.ID, "home")).select_by_value("VILL")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.home button").click)
    assert browser.current_url.endswith(f"/record/{LIANCHENGJUE}")  # back where the reader was
    lenders = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#rota li")]
    assert lenders[0].startswith("City Central Library") and "1 copy on the shelf" in lenders[0]
    open_page(browser, f"{server}/search?q=history")
    Select(browser.find_element(By.ID, "sort")).select_by_value("year")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.sort button").click)
    years = [int(e.text) for e in browser.find_elements(By.CSS_SELECTOR, "span.year")]
    assert "sort=year" in browser.current_url and years == sorted(years, reverse=True)


def test_language_switch_and_traditional_query(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    size(browser, DESKTOP)
    open_page(browser, server + "/?lang=en")
    follow(browser, browser.find_element(By.LINK_TEXT, "繁體中文").click)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hant"
    open_page(browser, server + "/")  # remembered
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hant"
    follow(browser, lambda: browser.find_element(By.ID, "q").send_keys("中國發展報告", Keys.ENTER))
    titles = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "li.hit h2 a")]
    assert any("中国发展报告" in t for t in titles), titles  # a Traditional query finds Simplified records
    assert "種文獻" in browser.find_element(By.TAG_NAME, "h1").text
    follow(browser, browser.find_element(By.LINK_TEXT, "简体中文").click)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "li.hit h2 a")] == titles
    follow(browser, browser.find_element(By.LINK_TEXT, "English").click)


def test_keyboard_reaches_the_search_and_the_results(server: str, browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    size(browser, DESKTOP)
    open_page(browser, server + "/?lang=en")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    active = browser.switch_to.active_element
    assert active.get_attribute("class") == "skip" and active.is_displayed()  # shown when focused
    outline = browser.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    for _ in range(12):  # tab on to the search box
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element.get_attribute("id") == "q":
            break
    assert browser.switch_to.active_element.get_attribute("id") == "q"
    ActionChains(browser).send_keys("lian cheng jue", Keys.ENTER).perform()
    WebDriverWait(browser, 20).until(EC.url_contains("/search"))  # a key press does not wait for the page
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "li.hit")))
    for _ in range(40):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if "/record/" in (browser.switch_to.active_element.get_attribute("href") or ""):
            break
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    WebDriverWait(browser, 20).until(EC.url_contains(f"/record/{LIANCHENGJUE}"))
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "holdings")))


PAGES = {"home": "/", "results": "/search?q=history", "record": f"/record/{LIANCHENGJUE}"}


@pytest.mark.parametrize("width", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_axe_finds_no_serious_violations(server: str, browser: Any, shots: Path, width: str, lang: str) -> None:
    size(browser, PHONE if width == "phone" else DESKTOP)
    for name, path in PAGES.items():
        open_page(browser, f"{server}{path}{'&' if '?' in path else '?'}lang={lang}")
        violations = axe_violations(browser)
        assert not violations, (name, width, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                                              for v in violations])
        if width == "phone":  # nothing wider than the phone: no sideways scrolling
            assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0], name
        if lang == "en":
            browser.execute_script("window.scrollTo(0, 0)")
            target = shots / f"{name}-{width}.png"
            if width == "phone":  # the whole page, as a phone shows it when scrolled
                height = browser.execute_script("return document.documentElement.scrollHeight")
                browser.set_window_size(browser.get_window_size()["width"], min(height + 100, 2400))
            assert browser.save_screenshot(str(target)) and target.stat().st_size > 5000
            size(browser, PHONE if width == "phone" else DESKTOP)
    assert not csp_errors(browser)


def test_pages_work_without_javascript(server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pages carry no script at all; a browser with JavaScript off searches and filters the same."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    if not shutil.which("chromedriver") and not os.path.exists(CHROMEDRIVER):
        pytest.fail("chromium-driver is missing: `make test` installs it")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 f"--user-data-dir={tmp_path_factory.mktemp('nojs')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(server + "/?lang=en")
        follow(driver, lambda: driver.find_element(By.ID, "q").send_keys("history", Keys.ENTER))
        total = count(driver)
        follow(driver, driver.find_element(By.XPATH, "//section[@class='facet'][h3='Library']//a").click)
        assert 0 < count(driver) <= total
        follow(driver, driver.find_element(By.CSS_SELECTOR, "li.hit h2 a").click)
        assert driver.find_elements(By.ID, "holdings")
    finally:
        driver.quit()


def sign_in(driver: Any, server: str, target: str = "/staff/") -> None:
    """Sign in to the staff console with the keyboard alone: the login form, then Enter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(driver, server + target)
    assert "/staff/login" in driver.current_url  # no session: sent to the login page
    follow(driver, lambda: driver.find_element(By.ID, "user").send_keys(STAFF[0], Keys.TAB, STAFF[1], Keys.ENTER))
    assert driver.current_url.endswith(target) and driver.find_element(By.TAG_NAME, "h1").text


STAFF_PAGES = {"staff-health": "/staff/", "staff-review": "/staff/review", "staff-overlap": "/staff/reports/overlap",
               "staff-unique": "/staff/reports/unique"}


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_staff_pages_in_a_browser(server: str, browser: Any, shots: Path, width: str) -> None:
    """The console signs in with the keyboard, its pages pass axe at both widths with nothing wider
    than a phone but the scrollable tables and charts, a review decision goes through the
    browser's own form post (CSRF token and SameSite cookie as a browser sends them), and signing
    out ends the session."""
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    size(browser, PHONE if width == "phone" else DESKTOP)
    sign_in(browser, server, "/staff/reports/overlap")
    assert browser.find_element(By.CSS_SELECTOR, "figure svg[role=img]")
    for name, path in STAFF_PAGES.items():
        open_page(browser, server + path)
        violations = axe_violations(browser)
        assert not violations, (name, width, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                                              for v in violations])
        if width == "phone":  # only the scroll regions may be wider than the phone
            assert browser.execute_script("return document.body.scrollWidth") <= PHONE[0], name
        target = shots / f"{name}-{width}.png"
        assert browser.save_screenshot(str(target)) and target.stat().st_size > 5000
    if width == "desktop":
        open_page(browser, server + "/staff/review")
        pair = browser.find_element(By.CSS_SELECTOR, "form.decide")
        a = pair.find_element(By.NAME, "a").get_attribute("value")
        follow(browser, pair.find_element(By.CSS_SELECTOR, "button[value=apart]").click)
        assert "/staff/review?done=" in browser.current_url
        assert f"apart {a}" in browser.find_element(By.CSS_SELECTOR, ".done").text
        open_page(browser, server + "/staff/log")
        assert a in browser.find_element(By.TAG_NAME, "table").text and STAFF[0] in browser.page_source
    follow(browser, browser.find_element(By.CSS_SELECTOR, ".signout button").click)
    assert "/staff/login" in browser.current_url
    open_page(browser, server + "/staff/")
    assert "/staff/login" in browser.current_url  # signed out for good
    assert not csp_errors(browser)
