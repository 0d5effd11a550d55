"""The console in a real browser: Debian's headless Chromium, driven by Playwright, against
the real ``gateway demo`` process (simulated complex, embedded broker, its own console).

A property manager logs in, enrolls a resident from photographs (each photo checked as it
is chosen), finds them in the list, makes them walk up to the simulated gate and sees the
door let them in; the overview shows the demo's full bin and its cold-chain excursion; a
screenshot of it is saved to ``artifacts/console-overview.png``; logging out ends the
session.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from drivers.sim.gate import PHOTOGRAPHS
from gateway.demo.broker import free_port

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
DEMO = ROOT / "config" / "demo.toml"
SCHNEIDER = PHOTOGRAPHS / "people" / "John_Schneider"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


class Demo:
    """``gateway demo`` as an installer starts it, its output read as it comes."""

    def __init__(self, scratch: Path) -> None:
        # The demo's own configuration, with a console port of its own (tests run in
        # parallel) and its data in the test's directory.
        text = DEMO.read_text()
        text = text.replace("port = 8080", f"port = {free_port()}")
        text = text.replace('"/tmp/community-gateway-demo"', f'"{scratch / "data"}"')
        config = scratch / "demo.toml"
        config.write_text(text)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "demo", "--duration", "900", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def console(self, timeout: float = 180.0) -> tuple[str, str, str]:
        """The console's address and the demo login the demo printed."""
        deadline = time.monotonic() + timeout
        pattern = re.compile(r"console at (http://\S+/) .* log in as (\S+) / (\S+)")
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = pattern.search(line)
                if found:
                    return found.group(1), found.group(2), found.group(3)
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError("the demo printed no console address:\n" + "".join(self.lines))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, tuple[str, str, str]]]:
    running = Demo(tmp_path_factory.mktemp("demo"))
    try:
        yield running, running.console()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail(
            "Debian's chromium is missing: `.ci/test` installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def log_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(base)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def until(page: Page, url: str, locator: str, text: str, timeout: float) -> None:
    """Reload ``url`` until ``locator`` shows ``text`` (the simulated complex moves on)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        shown = " ".join(page.locator(locator).all_inner_texts())
        if text in shown:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}: {locator} never showed {text!r}; it shows:\n{shown}")
        time.sleep(2)


def test_a_manager_enrolls_a_resident_watches_the_gate_and_the_complex(
    demo: tuple[Demo, tuple[str, str, str]], browser: Browser
) -> None:
    process, (base, name, password) = demo
    page = browser.new_page(viewport={"width": 1280, "height": 1000})

    log_in(page, base, name, password)
    # The scripted afternoon: bin-north-1 fills up ten simulated minutes in.
    until(page, base, "article[data-device=bin-north-1]", "full: needs emptying", 60)

    # Enroll: each chosen photo is checked at once; a rocket is no face.
    page.get_by_role("link", name="Residents").click()
    page.get_by_role("link", name="Enroll a resident").click()
    page.get_by_label("Resident id").fill("C-7-schneider")
    page.get_by_label("Name").fill("John Schneider")
    page.get_by_label("Unit").fill("C-7")
    photos = [SCHNEIDER / f"0{n}.jpg" for n in (1, 2, 3)]
    rocket = PHOTOGRAPHS / "objects" / "rocket.jpg"
    page.locator("#photos").set_input_files([*photos, rocket])
    feedback = page.locator("#photo-feedback li")
    expect(page.locator("#photo-feedback li.accepted")).to_have_count(3, timeout=60_000)
    expect(page.locator("#photo-feedback li.refused")).to_have_count(1, timeout=60_000)
    expect(feedback.filter(has_text="rocket.jpg")).to_contain_text("no face")
    page.get_by_label("The resident has agreed").check()
    page.get_by_role("button", name="Enroll").click()
    expect(page.locator(".notice")).to_contain_text("with 3 of 4 photos", timeout=60_000)

    page.get_by_role("link", name="Residents").click()
    page.get_by_label("Search").fill("schneider")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.residents")).to_contain_text("C-7-schneider")
    expect(page.locator("table.residents")).to_contain_text("active")

    # The resident walks up to the simulated gate and is let in. The demo's own script walks
    # other people up in its first minutes; one who steps in front of the camera takes the
    # resident's place, who then walks up again, as at a real gate.
    for attempt in range(3):
        page.goto(base + "devices/gate-main")
        page.get_by_label("Someone walks up to the gate").select_option(label="John Schneider")
        page.get_by_role("button", name="Walk up").click()
        expect(page.locator(".notice")).to_contain_text("John_Schneider walks up")
        try:
            until(page, base + "events?device=gate-main", "table.events", "C-7-schneider", 25)
            break
        except AssertionError as missing:
            if attempt == 2:
                said = "".join(process.lines[-80:])
                raise AssertionError(f"{missing}\nthe demo said:\n{said}") from None
    granted = page.locator("table.events tr", has_text="access granted").filter(
        has_text="C-7-schneider"
    )
    expect(granted.first).to_be_visible()

    # A resident standing at the gate is enrolled with the gate's own camera (once the door
    # has relocked behind the last one: else the next visitor simply walks through).
    until(page, base + "devices/gate-main", "article", "Door closed, locked", 30)
    page.get_by_label("Someone walks up to the gate").select_option(label="John Shimkus")
    page.get_by_role("button", name="Walk up").click()
    page.goto(base + "residents/new")
    page.get_by_label("Resident id").fill("D-3-shimkus")
    page.get_by_label("Name").fill("John Shimkus")
    page.get_by_label("Unit").fill("D-3")
    page.get_by_label("Or take a photo now with a door camera").select_option("gate-main")
    page.get_by_label("The resident has agreed").check()
    page.get_by_role("button", name="Enroll").click()
    expect(page.locator("ul.photo-results li")).to_have_text(["camera gate-main: good"])
    expect(page.locator(".notice")).to_contain_text("with 1 of 1 photos")

    # Compartment C08's compressor dies while it holds a chilled parcel (the cold chain).
    until(page, base, "article[data-device=lockers-a]", "cold-chain excursion in C08", 150)
    expect(page.locator(".problems")).to_contain_text("cold-chain excursion")
    expect(page.locator(".problems")).to_contain_text("full: needs emptying")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-overview.png"), full_page=True)

    page.goto(base + "devices/lockers-a?compartment=C08")
    expect(page.locator("tr.excursion").first).to_contain_text("C08")
    expect(page.locator("svg.chart rect.band")).to_have_count(1)

    # The audit log names the manager and verifies.
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#verification")).to_contain_text("Verified")
    expect(page.locator("table")).to_contain_text(f"console:{name}")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(base + "residents")
    expect(page).to_have_url(re.compile(r"/login\?next=/residents"))
    assert process.proc.poll() is None, "".join(process.lines)
