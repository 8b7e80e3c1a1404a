"""The browser the page tests use: it runs, and it sees every request a page makes."""

from __future__ import annotations

from tests.browser import Visit


def test_a_page_runs_its_script_and_its_requests_are_recorded(visit: Visit) -> None:
    visit.page.set_content(
        "<p id=out></p><script>document.getElementById('out').textContent = 6 * 7;"
        "fetch('http://127.0.0.1:9/nothing').catch(() => {});</script>"
    )
    visit.page.wait_for_function("document.getElementById('out').textContent === '42'")
    visit.page.wait_for_timeout(200)
    assert visit.outside("data:", "about:") == ["http://127.0.0.1:9/nothing"]


def test_a_script_error_is_recorded(visit: Visit) -> None:
    visit.page.set_content("<script>undefinedFunction()</script>")
    visit.page.wait_for_timeout(100)
    assert any("undefinedFunction" in error for error in visit.errors)
