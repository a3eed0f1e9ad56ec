"""The sample report in a real browser (headless Chromium driven by selenium).

Filters, sorting, the picture viewer and the annotator boxes are used as a lead would; the page
must make no network request (Chrome's performance log: every request is the page itself or a
``data:`` URI) and log no JavaScript error. Also read without JavaScript and as printed.

Needs Chromium and its driver: ``apt-get install -y chromium chromium-driver`` (Debian / Ubuntu;
``.ci/run`` installs them); without them these tests are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

INSTALL = ("needs Chromium and chromedriver: apt-get install -y chromium chromium-driver "
           "(and selenium, in the test extra)")


def _binaries() -> tuple[str, str]:
    browser = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                          "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip(INSTALL)
    return browser, driver


@contextmanager
def _browser(*, javascript: bool = True):
    """A headless Chromium with a fresh profile, quit and removed afterwards."""
    d = _driver(javascript=javascript)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(d.profile_dir, ignore_errors=True)


def _driver(*, javascript: bool = True):
    webdriver = pytest.importorskip("selenium.webdriver", reason=INSTALL)
    from selenium.webdriver.chrome.service import Service

    browser, driver = _binaries()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    profile = tempfile.mkdtemp(prefix="agreement-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(flag)
    if not javascript:
        opts.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # the driver is given by path: selenium must not look one up on the network
    service = Service(executable_path=driver, env={**os.environ, "SE_OFFLINE": "true"})
    d = webdriver.Chrome(service=service, options=opts)
    d.implicitly_wait(0)
    d.profile_dir = profile
    return d


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Skip (before the report is built) unless selenium, Chromium and its driver are here
    (session scope: pytest sets up wider scopes first, and the report is session-wide)."""
    pytest.importorskip("selenium.webdriver", reason=INSTALL)
    return _binaries()


@pytest.fixture(scope="module")
def page(chromium, sample_report):
    """The sample report opened in Chromium with JavaScript (one browser for the module)."""
    out = sample_report[2]
    with _browser() as d:
        url = (out / "report.html").resolve().as_uri()
        d.get("about:blank")
        d.get_log("performance")  # drop the browser's own start-up requests (new tab page)
        d.get(url)
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(d, 20).until(
            lambda drv: drv.execute_script(
                "return document.querySelector('.browser-viewer figure') !== null"))
        d.page_url = url
        yield d


#: The region browser (the findings are another list of the page, with facets of their own).
REGIONS = '.browser[data-list="regions"]'


def _visible_rows(d) -> list[dict]:
    return d.execute_script("""
        var list = JSON.parse(document.getElementById('report-data').textContent)
                   .lists.regions;
        var byId = {};
        list.rows.forEach(function (r) { byId[String(r[0])] = r; });
        return Array.prototype.filter.call(
            document.querySelectorAll('#browser-regions tbody tr'),
            function (tr) { return !tr.hidden; }).map(function (tr) {
                var r = byId[tr.getAttribute('data-id')];
                var o = {};
                list.columns.forEach(function (c, i) { o[c] = r[i]; });
                return o;
            });""")


def _choose(d, facet: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(d.find_element(By.CSS_SELECTOR, f'{REGIONS} select[data-facet="{facet}"]')
           ).select_by_value(value)


def _reset(d) -> None:
    from selenium.webdriver.common.by import By

    d.find_element(By.CSS_SELECTOR, f"{REGIONS} .browser-controls button.reset").click()


def _expected(sample_report, **filters) -> pd.DataFrame:
    _, _, out, _ = sample_report
    regions = pd.read_csv(out / "regions.csv").sort_values("rank").head(500)
    for col, value in filters.items():
        if col == "annotators_b":
            names = regions[col].fillna("").str.split(", ")
            regions = regions[[value in n for n in names]]
        else:
            regions = regions[regions[col] == value]
    return regions


def test_filter_by_class_pair_and_image_then_click_a_region(page, sample_report):
    from selenium.webdriver.common.by import By

    _reset(page)
    _choose(page, "class_pair", "road <-> sidewalk")
    _choose(page, "image", "street_004.jpg")
    rows = _visible_rows(page)
    expected = _expected(sample_report, class_pair="road <-> sidewalk", image="street_004.jpg")
    assert [r["id"] for r in rows] == expected["rank"].tolist()  # most severe first
    assert {r["class_pair"] for r in rows} == {"road <-> sidewalk"}
    count = page.find_element(By.CSS_SELECTOR, f"{REGIONS} .browser-controls .count").text
    listed = len(json.loads(page.find_element(By.ID, "report-data").get_attribute(
        "textContent"))["lists"]["regions"]["rows"])  # the 500 most severe and every pictured
    assert count.startswith(f"{len(rows)} of {listed} shown")
    # the first region of the filter has a picture: click it (second click of the question
    # "what did annotator X draw on the road / sidewalk border in image Y")
    first = page.find_element(By.CSS_SELECTOR, f'#browser-regions tr[data-id="{rows[0]["id"]}"]')
    first.click()
    viewer = page.find_element(By.CSS_SELECTOR, f"{REGIONS} .browser-viewer")
    assert viewer.get_attribute("data-showing") == str(rows[0]["id"])
    figure = viewer.find_element(By.CSS_SELECTOR, "figure.region")
    assert figure.get_attribute("data-region") == str(rows[0]["id"])
    panels = figure.find_elements(By.CSS_SELECTOR, ".panel")
    assert [p.get_attribute("data-annotator") for p in panels] == ["alice", "bruno", "chen",
                                                                   "dana"]
    assert all(p.is_displayed() for p in panels)
    widths = [p.find_element(By.TAG_NAME, "img").size["width"] for p in panels]
    assert min(widths) >= 240
    assert "road <-> sidewalk" in figure.find_element(By.TAG_NAME, "figcaption").text
    assert "chen" in figure.find_element(By.TAG_NAME, "figcaption").text  # chen: road


def test_two_clicks_what_did_an_annotator_draw_on_the_border_in_any_image(page):
    """The target of the issue: "what did annotator X draw on the road / sidewalk border in
    image Y" in two clicks (choose the class pair, click the image's row), for every image
    and every annotator of the sample: the row's picture shows X's panel, loaded and readable."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _reset(page)
    _choose(page, "class_pair", "road <-> sidewalk")  # click 1
    rows = _visible_rows(page)
    images = list(dict.fromkeys(r["image"] for r in rows))  # most severe row of each first
    assert len(images) == 13
    for image in images:
        first = next(r for r in rows if r["image"] == image)
        tr = page.find_element(By.CSS_SELECTOR, f'#browser-regions tr[data-id="{first["id"]}"]')
        page.execute_script("arguments[0].scrollIntoView({block: 'center'})", tr)
        tr.click()  # click 2
        viewer = page.find_element(By.CSS_SELECTOR, f"{REGIONS} .browser-viewer")
        assert viewer.get_attribute("data-showing") == str(first["id"])
        figure = viewer.find_element(By.CSS_SELECTOR, "figure.region")
        assert image in figure.find_element(By.TAG_NAME, "figcaption").text
        # dana has no annotation of street_013.jpg (data/sample/README.md)
        who_drew = ["alice", "bruno", "chen"] + ([] if image == "street_013.jpg" else ["dana"])
        panels = figure.find_elements(By.CSS_SELECTOR, ".panel")
        assert [p.get_attribute("data-annotator") for p in panels] == who_drew
        for panel in panels:
            img = panel.find_element(By.TAG_NAME, "img")
            WebDriverWait(page, 10).until(lambda d, img=img: d.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", img))
            assert panel.is_displayed() and img.size["width"] >= 240, (image, panel)
    # leave the viewer on a region of the four annotators, as the filter test does
    tr = page.find_element(By.CSS_SELECTOR, f'#browser-regions tr[data-id="{rows[0]["id"]}"]')
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", tr)
    tr.click()


def test_hide_an_annotator_everywhere(page):
    from selenium.webdriver.common.by import By

    box = page.find_element(By.CSS_SELECTOR,
                            f'{REGIONS} .annotator-toggles input[data-annotator="chen"]')
    box.click()
    try:
        viewer = page.find_element(By.CSS_SELECTOR, f"{REGIONS} .browser-viewer")
        shown = {p.get_attribute("data-annotator"): p.is_displayed()
                 for p in viewer.find_elements(By.CSS_SELECTOR, ".panel")}
        assert shown == {"alice": True, "bruno": True, "chen": False, "dana": True}
        hidden_everywhere = page.execute_script(
            "return Array.prototype.every.call(document.querySelectorAll("
            "'.panel[data-annotator=\"chen\"]'), function (p) { return p.hidden; })")
        assert hidden_everywhere  # the proposals' pictures too
    finally:
        box.click()
    assert all(p.is_displayed() for p in page.find_elements(
        By.CSS_SELECTOR, f"{REGIONS} .browser-viewer .panel"))


def test_filter_by_dissenter_and_kind_sort_by_area(page, sample_report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _reset(page)
    _choose(page, "dissenters", "bruno")
    _choose(page, "kind", "unlabeled gap")
    rows = _visible_rows(page)
    expected = _expected(sample_report, annotators_b="bruno", kind="unlabeled gap")
    assert sorted(r["id"] for r in rows) == sorted(expected["rank"])
    assert all("bruno" in r["dissenters"] for r in rows) and len(rows) > 10
    Select(page.find_element(By.CSS_SELECTOR, f"{REGIONS} select[data-sort]")
           ).select_by_value("area")
    areas = [r["area"] for r in _visible_rows(page)]
    assert areas == sorted(areas, reverse=True)
    Select(page.find_element(By.CSS_SELECTOR, f"{REGIONS} select[data-sort]")
           ).select_by_value("severity")


def test_a_region_without_picture_says_so(page, sample_report):
    from selenium.webdriver.common.by import By

    _reset(page)
    data = json.loads(page.find_element(By.ID, "report-data").get_attribute("textContent"))
    regions = data["lists"]["regions"]
    bare = next(str(r[0]) for r in regions["rows"] if str(r[0]) not in regions["pictures"])
    row = page.find_element(By.CSS_SELECTOR, f'#browser-regions tr[data-id="{bare}"]')
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    viewer = page.find_element(By.CSS_SELECTOR, f"{REGIONS} .browser-viewer")
    assert viewer.find_elements(By.CSS_SELECTOR, "figure") == []
    assert viewer.text.startswith("No picture for this row")
    assert f"id: {bare};" in viewer.text


def _requests(d) -> list[str]:
    """URLs the browser requested since the last call (Chrome's performance log)."""
    messages = [json.loads(e["message"])["message"] for e in d.get_log("performance")]
    return [m["params"]["request"]["url"] for m in messages
            if m["method"] == "Network.requestWillBeSent"]


def _errors(d) -> list[dict]:
    return [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_filter_the_findings_by_annotator_and_see_their_crops(page, sample_report):
    """The findings are a second list: filter by annotator and kind; a row shows its crops."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    findings = '.browser[data-list="findings"]'
    _, _, out, _ = sample_report
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    Select(page.find_element(By.CSS_SELECTOR, f'{findings} select[data-facet="annotators"]')
           ).select_by_value("dana")
    shown = [tr.get_attribute("data-id") for tr in page.find_elements(
        By.CSS_SELECTOR, f"{findings} tbody tr") if tr.is_displayed()]
    assert shown == [str(f["rank"]) for f in doc["findings"] if "dana" in f["annotators"]]
    Select(page.find_element(By.CSS_SELECTOR, f'{findings} select[data-facet="kind"]')
           ).select_by_value("split")
    (row,) = [tr for tr in page.find_elements(By.CSS_SELECTOR, f"{findings} tbody tr")
              if tr.is_displayed()]
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    viewer = page.find_element(By.CSS_SELECTOR, f"{findings} .browser-viewer")
    split = next(f for f in doc["findings"] if f["kind"] == "split")
    assert viewer.get_attribute("data-showing") == str(split["rank"])
    shown_regions = [f.get_attribute("data-region") for f in viewer.find_elements(
        By.CSS_SELECTOR, "figure.region")]
    assert shown_regions == [str(r["region"]) for r in split["evidence"]["regions"]]
    page.find_element(By.CSS_SELECTOR, f"{findings} .browser-controls button.reset").click()


def test_no_network_request_and_no_javascript_error(page):
    urls = _requests(page)
    assert page.page_url in urls  # the log works: the page itself was requested
    assert [u for u in urls if u != page.page_url and not u.startswith("data:")] == []
    assert _errors(page) == []


def test_the_checks_see_a_request_and_an_error(chromium, tmp_path):
    """Control: a page loading a remote picture and throwing is caught by the same checks."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png">'
                   '<script>throw new Error("planted")</script></body></html>', "utf-8")
    with _browser() as d:
        d.get("about:blank")
        d.get_log("performance")
        d.get(bad.resolve().as_uri())
        assert "http://127.0.0.1:9/x.png" in _requests(d)
        assert any("planted" in e["message"] for e in _errors(d))


def test_print_shows_every_picture_and_no_controls(page):
    from selenium.webdriver.common.by import By

    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not page.find_element(By.CSS_SELECTOR, ".browser-controls").is_displayed()
        assert not page.find_element(By.CSS_SELECTOR, ".browser-viewer").is_displayed()
        gallery = page.find_elements(By.CSS_SELECTOR, ".browser-gallery figure.region")
        assert gallery and all(f.is_displayed() for f in gallery)
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert page.find_element(By.CSS_SELECTOR, ".browser-controls").is_displayed()


def test_readable_without_javascript(chromium, sample_report):
    from selenium.webdriver.common.by import By

    _, _, out, _ = sample_report
    with _browser(javascript=False) as d:
        d.get((out / "report.html").resolve().as_uri())
        assert "js" not in (d.find_element(By.TAG_NAME, "html").get_attribute("class") or "")
        assert not d.find_element(By.CSS_SELECTOR, ".browser-controls").is_displayed()
        rows = d.find_elements(By.CSS_SELECTOR, "#browser-regions tbody tr")
        assert len(rows) >= 500 and all(r.is_displayed() for r in rows[:5])
        gallery = d.find_elements(By.CSS_SELECTOR, ".browser-gallery figure.region")
        assert gallery and gallery[0].is_displayed()
        # a row's picture link leads to its picture, wherever it is in the page
        link = d.find_element(By.CSS_SELECTOR, '#browser-regions tr[data-id="1"] a')
        target = d.find_element(By.ID, link.get_attribute("href").split("#")[1])
        assert target.get_attribute("data-region") == "1" and target.is_displayed()
