"""Open a multi-page task (`<Image valueList>`) in Label Studio's labeling UI, turn to a page with
the editor's own page control, and report what the editor holds for that page.

Runs under .venv-ls/bin/python (where Playwright lives), driven by test_e2e_pdf.py:
    browser_pages.py URL EMAIL PASSWORD PROJECT TAB TASK IMAGE_TAG PAGE SCREENSHOT.png
PAGE is 1-based, as the page control shows it. Prints one JSON object: {"flag": the editor's
multi-image feature flag, "before": state on opening, "after": state on PAGE}, where a state is
{"current": 0-based page index, "pages": page count, "src": the page image URL, "loaded": whether
that image is decoded, "size": its natural size, "regions": [{"id", "item_index", "text"}] of the regions the
canvas draws on that page, "all_regions": count over all pages}."""

import json
import sys

from browser_check import CHROMIUM_ARGS, open_task
from playwright.sync_api import sync_playwright

MULTI_IMAGE_FLAG = "fflag_feat_front_lsdv_4583_multi_image_segmentation_short"

# window.Htx is the editor's root store (label-studio-frontend sets it on load); `regs` of an
# Image with valueList are the regions of its current page, the ones its canvas draws.
STATE_JS = """(name) => {
  const a = window.Htx && window.Htx.annotationStore && window.Htx.annotationStore.selected;
  const tag = a && a.names.get(name);
  if (!tag || tag.currentImage === undefined) return null;
  const entity = tag.currentImageEntity;
  const text = r => { const t = r.results.find(x => x.type === 'textarea');
    return t ? Array.from((t.value && t.value.text) || []) : null; };
  return {
    current: tag.currentImage,
    pages: tag.parsedValueList ? tag.parsedValueList.length : 0,
    src: entity ? entity.src : '',
    // The editor preloads pages into blob: URLs; the entity says when the current one is decoded.
    loaded: !!(entity && entity.imageLoaded),
    size: entity ? [entity.naturalWidth, entity.naturalHeight] : null,
    regions: tag.regs.map(r => ({id: r.cleanId, item_index: r.item_index, text: text(r)})),
    all_regions: a.regions.length,
  };
}"""


def main(url, email, password, project, tab, task, image_tag, page_number, screenshot):
    target = int(page_number) - 1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            page = open_task(browser, url, email, password, project, tab, task)
            state = f"({STATE_JS})({json.dumps(image_tag)})"
            page.wait_for_function(f"() => {{ const s = {state}; return s && s.loaded; }}")
            before = page.evaluate(STATE_JS, image_tag)
            # The page control above the image ("< 1 of 3 >"): its next-page arrow, as a user clicks it.
            for _ in range(target - before["current"]):
                page.click(".lsf-pagination__btn_arrow-right:not(.lsf-pagination__btn_arrow-right-double)")
            page.wait_for_function(f"() => {{ const s = {state}; return s && s.current === {target} && s.loaded; }}")
            page.mouse.move(5, 995)  # no hover tooltip over the image in the screenshot
            page.wait_for_timeout(1500)  # let the canvas draw the page's shapes before the screenshot
            page.screenshot(path=screenshot)
            result = {
                "flag": page.evaluate("(f) => (window.APP_SETTINGS.feature_flags || {})[f]", MULTI_IMAGE_FLAG),
                "before": before,
                "after": page.evaluate(STATE_JS, image_tag),
            }
        finally:
            browser.close()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:10])
