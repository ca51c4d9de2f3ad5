"""The kiosk page in headless Chromium (Debian's chromium + chromium-driver, driven by selenium).

Real stack: action server + Rasa server with the kiosk channel. Loads the page, sends a message, presses
reply buttons through the walk until the checklist QR code shows, lets the idle reset fire (`?idle=6`),
uses "Bắt đầu lại", and repeats on a phone-sized screen. Screenshots go to var/screenshots/.
Without a browser a local run skips (saying so); under CI=true a missing browser fails.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from bot.settings import PROJECT_ROOT
from tests.support.requirements import missing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
IDLE_SECONDS = 6
NO_ANSWER = "tôi chưa có câu trả lời"
ERROR_ANSWER = "hệ thống đang bận"


def _require_browser() -> None:
    problems = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("the selenium package (requirements/app.txt)")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            problems.append(f"{path} (apt-get install -y {package})")
    if problems:
        missing("kiosk browser test skipped: missing " + ", ".join(problems))


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kiosk_url() -> Iterator[str]:
    _require_browser()
    from tests.support.stack import ActionServer, RasaServer, trained_model

    model = trained_model()
    credentials = {"rest": None, "bot.channels.kiosk.KioskInput": None}
    with ActionServer() as actions:
        with RasaServer(model=model, actions_url=actions.webhook_url, credentials=credentials) as rasa:
            yield f"{rasa.url}/webhooks/kiosk/"


@pytest.fixture()
def make_browser() -> Iterator[Callable[..., Any]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    drivers: list[Any] = []
    folders: list[str] = []

    def make(width: int, height: int, scale: float = 1.0, mobile: bool = False) -> Any:
        folder = tempfile.mkdtemp(prefix="kiosk-chromium-")
        folders.append(folder)
        options = Options()
        options.binary_location = CHROMIUM
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=vi-VN",
                     f"--user-data-dir={folder}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        drivers.append(driver)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile})
        if mobile:
            driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
        return driver

    yield make
    for driver in drivers:
        driver.quit()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


# --- page helpers ---------------------------------------------------------------------------------------


def wait(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def bot_texts(driver: Any) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#log .msg.bot:not(.typing):not(.welcome) .text'))"
        ".map(e => e.textContent)")


def user_texts(driver: Any) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#log .msg.user .text')).map(e => e.textContent)")


def idle(driver: Any) -> bool:
    return driver.execute_script("return document.querySelector('#log .msg.typing') === null")


def send_and_wait(driver: Any, text: str) -> list[str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = len(bot_texts(driver))
    box = driver.find_element(By.ID, "message-input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    wait(lambda: idle(driver) and len(bot_texts(driver)) > before, what=f"an answer to {text!r}")
    return bot_texts(driver)[before:]


def enabled_reply_buttons(driver: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return [b for b in driver.find_elements(By.CSS_SELECTOR, "#log .msg.bot:not(.welcome) .buttons button")
            if b.is_enabled()]


def assert_real_answer(texts: list[str]) -> None:
    assert texts and all(t.strip() for t in texts), texts
    assert not any(NO_ANSWER in t or ERROR_ANSWER in t for t in texts), texts


def touch_targets_ok(driver: Any, minimum: int = 48) -> list[str]:
    """Visible buttons and the input smaller than `minimum` CSS pixels (should be none)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('button, input'))"
        ".filter(e => e.offsetParent !== null)"
        ".filter(e => { const r = e.getBoundingClientRect(); return r.height < arguments[0] || r.width < arguments[0]; })"
        ".map(e => e.id || e.textContent)", minimum)


# --- tests ----------------------------------------------------------------------------------------------


def test_kiosk_portrait_conversation_buttons_qr_and_idle_reset(kiosk_url, make_browser) -> None:
    from selenium.webdriver.common.by import By

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver = make_browser(1080, 1920)
    driver.get(f"{kiosk_url}?idle={IDLE_SECONDS}")
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#log .welcome"), what="the welcome message")
    assert driver.find_element(By.ID, "log").get_attribute("aria-live") == "polite"
    assert driver.find_element(By.ID, "restart-button").text == "Bắt đầu lại"
    assert touch_targets_ok(driver) == []
    first_session = driver.find_element(By.TAG_NAME, "body").get_attribute("data-session")
    driver.save_screenshot(str(SCREENSHOTS / "kiosk-portrait-1-welcome.png"))

    # a typed message
    greeting = send_and_wait(driver, "xin chào")
    assert_real_answer(greeting)
    assert any("Xin chào" in t for t in greeting)
    assert user_texts(driver) == ["xin chào"]

    # reply buttons: start a walk and press the first button until the checklist QR shows
    if not enabled_reply_buttons(driver):
        assert_real_answer(send_and_wait(driver, "làm giấy khai sinh cho con"))
    pressed: list[str] = []
    for _ in range(10):
        buttons = enabled_reply_buttons(driver)
        assert buttons, f"no reply button to press after {pressed}: {bot_texts(driver)[-2:]}"
        before = len(bot_texts(driver))
        title = buttons[0].text
        buttons[0].click()
        pressed.append(title)
        wait(lambda: idle(driver) and len(bot_texts(driver)) > before, what=f"an answer to the button {title!r}")
        assert user_texts(driver)[-1] == title  # the citizen sees the title, Rasa got the payload
        assert_real_answer(bot_texts(driver)[before:])
        if len(pressed) == 1:
            driver.save_screenshot(str(SCREENSHOTS / "kiosk-portrait-2-reply-button.png"))
        if driver.find_elements(By.CSS_SELECTOR, "#log .qr img"):
            break
    qr = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#log .qr img"), timeout=5, what="the checklist QR")[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", qr)
    assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", qr)
    assert qr.size["width"] >= 200
    driver.save_screenshot(str(SCREENSHOTS / "kiosk-portrait-3-checklist-qr.png"))
    said = user_texts(driver) + bot_texts(driver)

    # idle reset: after IDLE_SECONDS without a touch the screen is cleared and a new session starts
    wait(lambda: not user_texts(driver), timeout=IDLE_SECONDS + 10, what="the idle reset")
    assert driver.find_elements(By.CSS_SELECTOR, "#log .welcome")
    assert bot_texts(driver) == []
    page_text = driver.find_element(By.ID, "log").text
    assert not any(t and t in page_text for t in said[1:] if len(t) > 20)
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-session") != first_session
    driver.save_screenshot(str(SCREENSHOTS / "kiosk-portrait-4-after-idle-reset.png"))


def test_kiosk_phone_layout_and_restart_button(kiosk_url, make_browser) -> None:
    from selenium.webdriver.common.by import By

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver = make_browser(390, 844, scale=2.0, mobile=True)
    driver.get(kiosk_url)
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#log .welcome"), what="the welcome message")
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert touch_targets_ok(driver) == []
    session = driver.find_element(By.TAG_NAME, "body").get_attribute("data-session")
    assert_real_answer(send_and_wait(driver, "xin chào"))
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    driver.save_screenshot(str(SCREENSHOTS / "kiosk-phone-1-conversation.png"))

    driver.find_element(By.ID, "restart-button").click()
    wait(lambda: not user_texts(driver), timeout=5, what="the restart")
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-session") != session
    assert "đã bắt đầu lại" in driver.find_element(By.ID, "status").get_attribute("textContent").lower()
    driver.save_screenshot(str(SCREENSHOTS / "kiosk-phone-2-after-restart.png"))
