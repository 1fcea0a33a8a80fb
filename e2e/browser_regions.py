"""Open a task in Label Studio's labeling UI with a real browser and report where the editor draws
each region, as the editor itself holds it.

Runs under .venv-ls/bin/python (where Playwright lives), driven by test_e2e_sideways.py:
    browser_regions.py URL EMAIL PASSWORD PROJECT TAB TASK SCREENSHOT.png
Prints one JSON object: {"loaded": whether the task image is decoded, "size": its natural size,
"result": the editor's own serialisation of the annotation it shows (window.Htx's selected
annotation, the predicted regions it drew: geometry in percent of the image, labels and text)}."""

import json
import sys

from browser_check import CHROMIUM_ARGS, IMAGE_JS, open_task
from playwright.sync_api import sync_playwright

# window.Htx is the editor's root store (label-studio-frontend sets it on load).
STATE_JS = """() => {
  const a = window.Htx && window.Htx.annotationStore && window.Htx.annotationStore.selected;
  if (!a || !a.regions.length) return null;
  const img = Array.from(document.querySelectorAll('img')).find(i => i.src.includes('/data/upload/'));
  return {
    loaded: !!(img && img.complete && img.naturalWidth > 0),
    size: img ? [img.naturalWidth, img.naturalHeight] : null,
    result: a.serializeAnnotation(),
  };
}"""


def main(url, email, password, project, tab, task, screenshot):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            page = open_task(browser, url, email, password, project, tab, task)
            page.wait_for_selector(".lsf-outliner .lsf-tree__node")
            page.wait_for_function(IMAGE_JS)
            page.wait_for_function(f"() => {{ const s = ({STATE_JS})(); return s && s.loaded; }}")
            page.mouse.move(5, 995)  # no hover tooltip over the image in the screenshot
            page.wait_for_timeout(1500)  # let the canvas draw the shapes before the screenshot
            page.screenshot(path=screenshot)
            result = page.evaluate(STATE_JS)
        finally:
            browser.close()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:8])
