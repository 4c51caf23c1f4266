"""The web app in a real browser (Debian chromium driven by Playwright) against the app
served on 127.0.0.1 over a small archive, with a deterministic streaming fake model.

Screenshots of the main views go to test-output/ (1280×800 and a 390-wide phone)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT, SEEDS, TWO_SEED_ISSUES, free_port, serve_two_issues

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "没有安装 Debian chromium（make browser-deps）：跳过浏览器测试", allow_module_level=True
    )
playwright = pytest.importorskip("playwright.sync_api", reason="没有安装 playwright")
pytestmark = pytest.mark.browser

OUT = ROOT / "test-output"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOTEL_QUESTION = "瓜山未来社区民宿组团一期建成开放的是哪家酒店？"
UPLOAD_QUESTION = "临江区今年计划完成改造多少个老旧小区？"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    """The app's URL and its service."""
    server, service = serve_two_issues(tmp_path_factory.mktemp("app"))
    yield server.url, service
    server.close()


@pytest.fixture(scope="module")
def app_url(app) -> str:
    return app[0]


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(app_url)
    page.wait_for_selector("#aq-question textarea")
    yield page
    page.close()


def ask(page, question: str) -> None:
    page.fill("#aq-question textarea", question)
    page.click("#aq-send")


def upload_and_wait(page, path: Path, timeout: int = 120_000):
    """Upload ``path`` on the archive tab; the result box once it names the file."""
    page.get_by_role("tab", name="档案管理").click()
    page.set_input_files("#aq-upload input[type=file]", [str(path)])
    page.click("#aq-ingest")
    result = page.locator("#aq-ingest-result")
    result.get_by_text(path.name).wait_for(timeout=timeout)
    return result


def delete_source(page, name: str) -> None:
    page.get_by_role("tab", name="档案管理").click()
    page.click("#aq-delete-choice input")
    page.get_by_role("option", name=name).click()
    page.keyboard.press("Escape")
    page.click("#aq-delete")
    page.locator("#aq-delete-result").get_by_text(f"已删除 {name}").wait_for(timeout=30_000)


def last_answer(page):
    answer = page.locator(".aq-answer:not(.aq-pending)").last
    answer.wait_for(timeout=60_000)
    return answer


def test_ask_streams_then_shows_cited_answer(page) -> None:
    OUT.mkdir(exist_ok=True)
    ask(page, HOTEL_QUESTION)
    page.wait_for_selector(".aq-pending", timeout=30_000)  # tokens arrive before the end
    answer = last_answer(page)
    assert "往来酒店" in answer.locator(".aq-text").inner_text()
    card = answer.locator(".aq-card").first
    assert "今日拱墅 · 2021-01-15" in card.inner_text()
    assert "往来酒店" in card.locator("mark").first.inner_text()
    page.screenshot(path=str(OUT / "chat-1280.png"))

    answer.locator("a.aq-cite").first.click()  # the marker opens its source
    page.wait_for_selector(".aq-card.aq-flash", timeout=5_000)
    assert card.is_visible()

    card.locator("summary").click()  # 查看全文
    article = card.locator(".aq-article-text")
    assert article.is_visible() and len(article.inner_text()) > len(
        card.locator(".aq-card-text").inner_text()
    )
    assert article.locator("mark").count() == 1
    page.screenshot(path=str(OUT / "source-open-1280.png"))


def test_source_cards_appear_before_the_first_answer_token(browser, app) -> None:
    """The passages the model reads are shown as soon as retrieval is done, with
    "正在生成回答…"; the answer then streams in; the finished answer shows the cited ones."""
    app_url, service = app
    model = service.answerer.model
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.add_init_script((ROOT / "scripts" / "page_timing.js").read_text(encoding="utf-8"))
    page.goto(app_url)
    page.wait_for_selector("#aq-question textarea")
    model.delay_s = 0.25  # a slow model, as on a CPU: the cards must come first
    try:
        ask(page, HOTEL_QUESTION)
        reading = page.locator(".aq-reading")
        reading.wait_for(timeout=30_000)
        assert reading.locator(".aq-card").count() >= 1
        assert "今日拱墅" in reading.locator(".aq-card").first.inner_text()
        page.screenshot(path=str(OUT / "sources-first-1280.png"))
        answer = last_answer(page)
        times = page.evaluate("window.aqTimes")
        assert answer.locator(".aq-reading").count() == 0  # the cited cards replace them
        assert answer.locator(".aq-card").count() >= 1
    finally:
        model.delay_s = 0.03
        page.close()
    assert times["cards"] < times["token"] < times["answer"]
    assert times["writingWithCards"] is False  # no word of the answer before the cards
    assert times["generatingLine"] is True  # "正在生成回答…" beside them
    assert times["cards"] < 5_000  # retrieval only (the browser figure is in make bench-app)


def test_copy_buttons_put_pasteable_citations_on_the_clipboard(browser, app_url) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    try:
        page.goto(app_url)
        page.wait_for_selector("#aq-question textarea")
        ask(page, HOTEL_QUESTION)
        answer = last_answer(page)
        button = answer.locator(".aq-card button.aq-copy").first
        button.click()
        page.wait_for_function("document.querySelector('button.aq-copy').textContent === '已复制'")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert re.fullmatch(r"《今日拱墅》2021年1月15日，.*《.+》。", copied)
        answer.locator("button.aq-copy-all").click()
        page.wait_for_function(
            "document.querySelector('button.aq-copy-all').textContent === '已复制'"
        )
        every = page.evaluate("navigator.clipboard.readText()").split("\n")
        cards = answer.locator(".aq-card").count()
        number = answer.locator(".aq-card-label b").first.inner_text()
        assert len(every) == cards and every[0] == f"{number} {copied}"
        assert all(re.match(r"\[\d+\] 《", line) for line in every)
    finally:
        context.close()


def test_a_second_question_waits_with_its_place_in_the_queue(browser, app) -> None:
    """With one model answering at a time, a question sent meanwhile shows its place in
    the queue, then gets its own answer."""
    from tests.fake_models import QueuedEchoModel

    url, service = app
    usual = service.answerer.model
    service.answerer.model = QueuedEchoModel(delay_s=0.15)
    pages = [browser.new_page(viewport={"width": 1280, "height": 800}) for _ in range(2)]
    try:
        for page in pages:
            page.goto(url)
            page.wait_for_selector("#aq-question textarea")
        ask(pages[0], HOTEL_QUESTION)
        pages[0].wait_for_selector(".aq-pending", timeout=30_000)
        ask(pages[1], "智慧网谷在哪里？")
        queued = pages[1].locator(".aq-queued")
        queued.wait_for(timeout=30_000)
        assert queued.inner_text() == "排队中（前面还有 1 个问题）"
        # Its sources are searched for at once and shown while it waits.
        assert pages[1].locator(".aq-pending .aq-reading .aq-card").count() >= 1
        pages[1].screenshot(path=str(OUT / "queued-1280.png"))
        assert "往来酒店" in last_answer(pages[0]).inner_text()
        assert last_answer(pages[1]).locator(".aq-card").count() >= 1
        assert pages[1].locator(".aq-queued").count() == 0
    finally:
        service.answerer.model = usual
        for page in pages:
            page.close()


def test_follow_up_and_new_conversation(page) -> None:
    ask(page, HOTEL_QUESTION)
    last_answer(page)
    ask(page, "它有什么特色？")
    page.wait_for_function("document.querySelectorAll('.aq-answer:not(.aq-pending)').length >= 2")
    assert "理解为：" in last_answer(page).inner_text()
    page.click("#aq-new")
    page.wait_for_function("document.querySelectorAll('.aq-answer').length === 0")


def test_date_filter_applies_to_retrieval(page) -> None:
    page.fill("#aq-date-from textarea, #aq-date-from input", "2024-01-01")
    ask(page, HOTEL_QUESTION)
    answer = last_answer(page)
    labels = [label.inner_text() for label in answer.locator(".aq-card-label").all()]
    assert all("2024-" in label for label in labels)
    assert "2021-01-15" not in answer.inner_text()


def test_markup_in_a_question_is_shown_as_text(page) -> None:
    ask(page, '<img src=x onerror="window.hacked=1">往来酒店')
    last_answer(page)
    assert page.evaluate("window.hacked") is None
    assert page.locator("#aq-chat img[src='x']").count() == 0


def test_upload_ask_delete_and_bad_upload(page) -> None:
    result = upload_and_wait(page, DATA / "sample_issue.txt")
    assert "篇文章" in result.inner_text()
    assert page.locator("#aq-sources").get_by_text("临江报").count() >= 1
    page.screenshot(path=str(OUT / "archive-1280.png"), full_page=True)

    page.get_by_role("tab", name="问答").click()
    ask(page, UPLOAD_QUESTION)
    answer = last_answer(page)
    assert "临江报" in answer.inner_text()

    delete_source(page, "sample_issue.txt")
    page.get_by_role("tab", name="问答").click()
    ask(page, UPLOAD_QUESTION)
    page.wait_for_function("document.querySelectorAll('.aq-answer:not(.aq-pending)').length >= 2")
    assert "临江报" not in last_answer(page).inner_text()

    result = upload_and_wait(page, DATA / "empty.txt", timeout=60_000)
    assert "✗" in result.inner_text()


def test_phone_layout_screenshot(browser, app_url) -> None:
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(app_url)
    phone.wait_for_selector("#aq-question textarea")
    ask(phone, HOTEL_QUESTION)
    last_answer(phone)
    width = phone.evaluate("document.documentElement.scrollWidth")
    phone.screenshot(path=str(OUT / "chat-390.png"), full_page=True)
    phone.close()
    assert width <= 400  # nothing forces sideways scrolling


def test_ask_api(app_url) -> None:
    from gradio_client import Client

    result = Client(app_url, verbose=False).predict(HOTEL_QUESTION, [], api_name="/ask")
    assert not result["refused"] and "往来酒店" in result["text"]
    citation = result["citations"][0]
    assert citation["paper"] == "今日拱墅" and citation["date"] == "2021-01-15"
    assert citation["quote"] and citation["title"]


def test_several_people_asking_at_once_all_get_answers(app_url) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    questions = [HOTEL_QUESTION, "区委全面深化改革委员会会议讲了什么？", "智慧网谷在哪里？"]

    def ask_one(question: str) -> dict:
        return Client(app_url, verbose=False).predict(question, [], api_name="/ask")

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(ask_one, questions))
    assert len(results) == 3 and all("text" in r and r["text"] for r in results)


def test_first_start_serves_while_the_seeds_are_indexed(browser, tmp_path) -> None:
    from app import BackgroundServer
    from qa.service import ArchiveService
    from qa.settings import Settings

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in TWO_SEED_ISSUES:
        shutil.copy(SEEDS / name, seeds / name)
    settings = Settings(
        index_dir=tmp_path / "index", seeds_dir=seeds, llm="none", app_port=free_port()
    )
    service = ArchiveService(settings)
    service._lock.acquire()  # hold the first indexing step until the page has been seen
    service.index_in_background(seeds)
    server = BackgroundServer(settings, service)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"http://127.0.0.1:{settings.app_port}")
        status = page.locator("#aq-status")
        status.get_by_text("正在为").wait_for(timeout=30_000)
        assert "已完成 0/2 个文件" in status.inner_text()
        assert page.locator("#aq-examples").count() == 0 or not page.is_visible("#aq-examples")
        ask(page, HOTEL_QUESTION)
        assert "回答只基于已建好的部分" in last_answer(page).inner_text()
        page.screenshot(path=str(OUT / "first-start-1280.png"))

        service._lock.release()
        page.wait_for_function(
            "!document.querySelector('#aq-status').innerText.includes('正在为')", timeout=120_000
        )
        assert "2 期报纸" in status.inner_text()
        page.locator("#aq-examples").get_by_text("这篇报道讲了什么").first.click()
        page.wait_for_function(  # the example fills the question box
            "document.querySelector('#aq-question textarea').value.endsWith('这篇报道讲了什么？')"
        )
        ask(page, HOTEL_QUESTION)
        page.wait_for_function(
            "document.querySelectorAll('.aq-answer:not(.aq-pending)').length >= 2"
        )
        assert "往来酒店" in last_answer(page).inner_text()
    finally:
        if service._lock.locked() and service.indexing:
            service._lock.release()
        page.close()
        server.close()


def test_the_app_on_milvus_answers_with_citations_and_forgets_a_deleted_source(
    browser, tmp_path
) -> None:
    """The same page over the Milvus store (Milvus Lite): cited answers, an upload that is
    found, a delete that is not."""
    server, _service = serve_two_issues(tmp_path, store="milvus")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(server.url)
        page.wait_for_selector("#aq-question textarea")
        assert "Milvus" in page.locator("#aq-status").inner_text()
        ask(page, HOTEL_QUESTION)
        answer = last_answer(page)
        assert "往来酒店" in answer.locator(".aq-text").inner_text()
        assert "今日拱墅 · 2021-01-15" in answer.locator(".aq-card").first.inner_text()

        upload_and_wait(page, DATA / "sample_issue.txt")
        page.get_by_role("tab", name="问答").click()
        ask(page, UPLOAD_QUESTION)
        page.wait_for_function(
            "document.querySelectorAll('.aq-answer:not(.aq-pending)').length >= 2"
        )
        assert "临江报" in last_answer(page).inner_text()

        delete_source(page, "sample_issue.txt")
        page.get_by_role("tab", name="问答").click()
        ask(page, UPLOAD_QUESTION)
        page.wait_for_function(
            "document.querySelectorAll('.aq-answer:not(.aq-pending)').length >= 3"
        )
        assert "临江报" not in last_answer(page).inner_text()
        page.close()
    finally:
        server.close()
