"""The review page end to end: Debian's Chromium (headless), driven by Playwright, against
``ivus-coder serve`` on a free loopback port. No browser is downloaded: the tests use
/usr/bin/chromium (``make test`` installs Debian's chromium when it is missing)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator

import pytest

from .conftest import API_KEY
from .notes import ARTERIAL, CORONARY, VENOUS

CHROMIUM = os.environ.get("IVUS_CODER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (make test installs it)"
)

LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=LAUNCH_FLAGS,
            viewport={"width": 1280, "height": 1600},
            # Playwright's wait_for_function evaluates strings, which the page's CSP forbids;
            # the CSP itself is checked in test_contract.py.
            bypass_csp=True,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context, live_server):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")
    yield page
    page.close()
    assert not errors, f"JavaScript errors: {errors}"


def code_note(page, text: str, doc_id: str = "note-1") -> None:
    page.fill("#api-key", API_KEY)
    page.dispatch_event("#api-key", "change")
    page.fill("#doc-id", doc_id)
    page.fill("#note-text", text)
    page.click("#code-btn")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Coded')")


def line_codes(page) -> list[str]:
    return page.locator("#lines tbody tr td:nth-child(2)").all_inner_texts()


def test_page_shows_lines_and_highlighted_spans_screenshot(page, tmp_path):
    code_note(page, VENOUS, "venous-001")
    assert line_codes(page) == ["+37252", "+37253", "+37253"]
    assert "+37252 × 1, +37253 × 2" in page.inner_text("#summary")
    assert page.inner_text("#note-view") == VENOUS  # the whole note, as sent
    for style in ("ivus", "vessel-examined", "finding", "procedure"):
        assert page.locator(f"#note-view .t-{style}").count() > 0, style
    marked = page.locator("#note-view .t-ivus").first.inner_text()
    assert marked in ("IVUS", "intravascular ultrasound")
    colours = page.evaluate(
        """() => ['ivus', 'vessel-examined', 'finding', 'pathology', 'procedure'].map(s =>
            getComputedStyle(document.querySelector('#note-view .t-' + s)).backgroundColor)"""
    )
    assert len(set(colours)) == len(colours)  # one colour per span type
    assert page.locator("#vessels tbody tr").count() == 3
    assert "treated-vessel" in page.inner_text("#excluded")
    flags = page.inner_text("#flags")
    assert flags.strip() != ""  # the flags table (or its "None" row) is drawn
    assert page.locator("#legend input[type=checkbox]").count() >= 4
    shot = tmp_path / "review-page.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_policy_switch_recodes_and_says_what_changed(page):
    code_note(page, ARTERIAL)
    assert line_codes(page) == ["+37252"]
    page.check('input[name="policy"][value="named-vessel"]')
    page.wait_for_function("document.querySelectorAll('#lines tbody tr').length === 2")
    assert line_codes(page) == ["+37252", "+37253"]
    assert "became" in page.inner_text("#change")
    page.check('input[name="policy"][value="sir"]')
    page.wait_for_function("document.querySelectorAll('#lines tbody tr').length === 1")


def test_linker_switch_recodes_and_names_the_linker(page):
    code_note(page, VENOUS)
    # the page offers the server's linkers, the default one chosen, each labelled
    group = page.get_by_role("group", name="Vessel linker")
    assert group.count() == 1
    for mode in ("rules", "model", "hybrid"):
        assert group.get_by_role("radio", name=re.compile(rf"^\s*{mode}\b")).count() == 1, mode
    assert "default" in group.get_by_role("radio", name=re.compile(r"^\s*rules\b")).evaluate(
        "input => input.parentElement.textContent"
    )
    assert page.is_checked('input[name="linker"][value="rules"]')
    summary = page.inner_text("#summary")
    assert "linker rules" in summary and ".model-" not in summary
    page.check('input[name="linker"][value="model"]')
    page.wait_for_function("document.querySelector('#summary').textContent.includes('.model-')")
    assert "linker model" in page.inner_text("#summary")
    assert "linker model" in page.inner_text("#status")
    assert page.inner_text("#change") == "Linker rules → model: the codes do not change."
    assert line_codes(page) == ["+37252", "+37253", "+37253"]
    # the chosen linker stays when the policy is switched
    page.check('input[name="policy"][value="named-vessel"]')
    page.wait_for_function("document.querySelector('#change').textContent.startsWith('Policy')")
    assert ".model-" in page.inner_text("#summary")


def tab_to(page, element_id: str, limit: int = 80) -> None:
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_keyboard_only_flow(page):
    tab_to(page, "api-key")
    page.keyboard.type(API_KEY)
    tab_to(page, "doc-id")  # leaving the key field saves it
    page.keyboard.type("kbd-1")
    tab_to(page, "note-text")
    page.keyboard.insert_text(ARTERIAL)
    page.keyboard.press("Control+Enter")
    page.wait_for_function("document.querySelectorAll('#lines tbody tr').length === 1")
    # the policy radios: arrow keys move the choice, which codes the note again
    for _ in range(80):
        if page.evaluate("document.activeElement.name") == "policy":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "sir"
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelectorAll('#lines tbody tr').length === 2")
    # the linker radios come next: the arrow keys choose a linker, which codes the note again
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "linker"
    assert page.evaluate("document.activeElement.value") == "rules"
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelector('#summary').textContent.includes('.model-')")
    assert page.evaluate("document.activeElement.value") == "model"
    assert line_codes(page) == ["+37252", "+37253"]
    # walk the highlights in the note with n / p
    tab_to(page, "note-view")
    page.keyboard.press("n")
    first = page.inner_text("#current-span")
    assert first.startswith("1 of ")
    page.keyboard.press("n")
    assert page.inner_text("#current-span").startswith("2 of ")
    page.keyboard.press("p")
    assert page.inner_text("#current-span") == first
    assert page.locator("#note-view .seg.current").count() >= 1
    # an evidence button in the lines table shows its vessel in the note
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#lines') !== null"):
            break
    label = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    assert label in page.inner_text("#current-span")
    assert page.evaluate("document.activeElement.id") == "note-view"
    page.keyboard.press("Escape")
    assert page.inner_text("#current-span") == ""


def test_problems_are_shown_to_the_user(page):
    page.fill("#note-text", VENOUS)
    page.click("#code-btn")
    page.wait_for_selector("#error:not([hidden])")
    assert "Authentication required" in page.inner_text("#error")
    page.fill("#api-key", API_KEY)
    page.fill("#note-text", "   ")
    page.click("#code-btn")
    page.wait_for_function("document.querySelector('#error').textContent.includes('E011')")
    assert "empty" in page.inner_text("#error")


def test_open_a_note_from_a_batch_and_compare(page, tmp_path):
    notes = tmp_path / "batch.jsonl"
    notes.write_text(
        "\n".join(
            json.dumps(d) for d in [{"id": "v1", "text": VENOUS}, {"id": "c1", "text": CORONARY}]
        )
        + "\n",
        encoding="utf-8",
    )
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "document_id": "v1",
                        "policy": "sir",
                        "ruleset_version": "old",
                        "codes": {"37252": 1, "37253": 1},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    page.fill("#api-key", API_KEY)
    page.click("#batch summary")
    page.set_input_files("#batch-files", [str(notes), str(results)])
    page.wait_for_function(
        "document.querySelector('#batch-status').textContent.includes('2 note(s)')"
    )
    assert "1 result(s)" in page.inner_text("#batch-status")
    page.fill("#batch-id", "v1")
    page.click("#batch-open")
    page.wait_for_function("document.querySelector('#batch-compare').textContent.length > 0")
    assert page.input_value("#doc-id") == "v1"
    assert "different from now" in page.inner_text("#batch-compare")
    page.fill("#batch-id", "c1")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#summary').textContent.includes('document c1')")
    assert page.inner_text("#lines tbody") == "None"
    assert "coronary" in page.inner_text("#excluded")


def test_open_a_note_file(page, tmp_path):
    note = tmp_path / "ivus-note-7.txt"
    note.write_text(VENOUS, encoding="utf-8")
    page.set_input_files("#note-file", str(note))
    page.wait_for_function("document.querySelector('#note-text').value.length > 0")
    assert page.input_value("#note-text") == VENOUS
    assert page.input_value("#doc-id") == "ivus-note-7"
