"""Open a task in Label Studio's labeling UI with a real browser and report what the region panel shows.

Runs under .venv-ls/bin/python (where Playwright lives), driven by test_e2e_browser.py:
    browser_check.py URL EMAIL PASSWORD PROJECT TAB TASK SCREENSHOT.png
Prints one JSON object: {"regions": [{"index", "label", "text": [...]}...], "image_loaded": bool,
"page_text": str}. Debian's chromium is used: Playwright's own browser download needs a host
this machine cannot reach."""

import json
import sys

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

# The outliner (Regions tab) is a virtual list: only the rows in view exist in the DOM. Each row
# holds the region's index, its label and, with displayMode="region-list", its TextArea.
ROWS_JS = """() => Array.from(document.querySelectorAll('.lsf-outliner .lsf-tree__node')).map(n => ({
  index: (n.querySelector('.lsf-outliner-item__index') || {}).innerText,
  label: (n.querySelector('.lsf-labels-list') || {}).innerText,
  text: Array.from(n.querySelectorAll('textarea')).map(t => t.value)}))"""
SCROLL_JS = """() => { const h = document.querySelector('.lsf-outliner .lsf-tree-list-holder');
  if (!h) return true;
  const before = h.scrollTop; h.scrollTop = before + h.clientHeight * 0.8; return h.scrollTop === before; }"""
IMAGE_JS = """() => Array.from(document.querySelectorAll('img'))
  .some(i => i.src.includes('/data/upload/') && i.complete && i.naturalWidth > 0)"""


def open_task(browser, url, email, password, project, tab, task):
    """A logged-in page showing the task in Label Studio's Data Manager (browser_pages.py uses it too)."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(90_000)
    page.goto(f"{url}/user/login/")
    page.fill("input#email", email)
    page.fill("input#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/user/login" not in u)
    page.goto(f"{url}/projects/{project}/data?tab={tab}&task={task}")
    return page


def main(url, email, password, project, tab, task, screenshot):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            page = open_task(browser, url, email, password, project, tab, task)
            # Regions come from the stored prediction once the editor has loaded the task and its image.
            page.wait_for_selector(".lsf-outliner .lsf-tree__node")
            page.wait_for_function(IMAGE_JS)
            page.wait_for_timeout(1000)  # let the canvas draw the shapes before the screenshot
            page.screenshot(path=screenshot)
            rows = {}
            for _ in range(200):
                for row in page.evaluate(ROWS_JS):
                    rows[row["index"]] = row
                if page.evaluate(SCROLL_JS):
                    break
                page.wait_for_timeout(150)
            result = {
                "regions": sorted(rows.values(), key=lambda r: int(r["index"] or 0)),
                "image_loaded": page.evaluate(IMAGE_JS),
                "page_text": page.inner_text("body"),
            }
        finally:
            browser.close()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:8])
