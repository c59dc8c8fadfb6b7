"""End to end: ``acgpn demo`` on 127.0.0.1, driven by a real headless Chromium through Playwright.

Needs Debian's ``chromium`` (``.ci/run`` installs it), the ``demo`` extra (gradio) and playwright;
without them the test is skipped with the reason. The page may load nothing from outside the
machine: every request to another host is aborted and reported as a failure.
Set ``ACGPN_DEMO_SCREENSHOT=path.png`` to keep the screenshot (the README's picture).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import BACKGROUND
from model_fixtures import roughness

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SIZE = (64, 48)
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="browser test skipped: no Chromium on PATH (apt-get install chromium; .ci/run does)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo_server(work: Path) -> tuple[subprocess.Popen, str]:
    """Start ``acgpn demo`` on the embedded (trained) model at 64x48, on a free port, as a user
    would with no checkpoint; returns (process, url). tests/conftest.py calls it at collection, so
    the server starts (imports gradio, loads the model) on the core the one-thread tests leave free."""
    port = _free_port()
    env = {**os.environ, "GRADIO_TEMP_DIR": str(work / "gradio"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "acgpn.cli.main", "demo", "--port", str(port), "--size", f"{SIZE[0]}x{SIZE[1]}", "--device", "cpu"]
    with (work / "server.log").open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    return proc, f"http://127.0.0.1:{port}/"


def demo_available() -> bool:
    """Whether the browser test can run here (Chromium, gradio and playwright present)."""
    import importlib.util

    return CHROMIUM is not None and all(importlib.util.find_spec(m) for m in ("gradio", "playwright"))


@pytest.fixture(scope="module")
def demo_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("gradio", reason="browser test skipped: gradio not installed (pip install 'acgpn[demo]')")
    pytest.importorskip("playwright.sync_api", reason="browser test skipped: playwright not installed")
    early = request.config.stash.get(BACKGROUND, {}).get("demo")  # started by conftest at collection
    if early is not None:
        proc, work, url = early.proc, early.folder, early.url
    else:
        work = tmp_path_factory.mktemp("demo")
        proc, url = start_demo_server(work)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"demo server did not start: {(work / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _result_pixels(page, timeout_ms: int, previous: str | None = None) -> tuple[np.ndarray, str]:  # type: ignore[no-untyped-def]
    """Wait for the result image (a new one if ``previous`` is given), fetch it, decode it."""
    page.wait_for_function(
        "prev => { const img = document.querySelector('#result img');"
        " return img && img.complete && img.naturalWidth > 0 && img.src !== prev; }",
        arg=previous or "", timeout=timeout_ms,
    )  # fmt: skip
    src = page.locator("#result img").first.get_attribute("src")
    body = page.request.get(src).body()
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB")), src


def _upload(page, elem_id: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Upload ``path`` through the component's file chooser, as a person would, and wait until it shows."""
    with page.expect_file_chooser() as chooser:
        page.locator(f"#{elem_id} button.upload-container").click()
    chooser.value.set_files(str(path))
    page.locator(f"#{elem_id} button[aria-label='Clear']").wait_for(timeout=30_000)  # shown once a file is held


@pytest.mark.slow
def test_demo_runs_an_example_and_an_upload_in_headless_chromium(demo_url, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from skimage import data

    from acgpn.synth import make_sample

    url, work = demo_url
    host = url.rstrip("/")
    outside: list[str] = []

    def local_only(route) -> None:  # type: ignore[no-untyped-def]
        target = route.request.url
        if target.startswith(host) or target.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(target)
            route.abort()

    person = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(person)
    cloth = tmp_path / "shirt.png"
    Image.fromarray(make_sample(3, 0, 2, (256, 192)).product).save(cloth)
    fake = tmp_path / "not_an_image.png"
    fake.write_text("hello")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.route("**/*", local_only)
            page.goto(url, wait_until="networkidle")
            assert "checkpoint" in page.locator("body").inner_text()  # the page says which model runs

            # 1. An example: synthetic person, parse, pose and cloth, nothing uploaded.
            page.locator("#examples tbody tr").first.click()
            pixels, src = _result_pixels(page, 60_000)
            assert pixels.shape == (*SIZE, 3)
            assert pixels.std() > 1  # a picture, not a blank
            assert roughness(pixels) < 0.4, roughness(pixels)  # and not noise: the trained model ran
            assert "Done" in page.locator("#status").inner_text()
            assert page.locator("#steps img").count() >= 8  # layout, warped cloth, composed mask, ...

            # 2. A file that is not an image: one friendly line, no traceback.
            page.reload(wait_until="networkidle")
            _upload(page, "person", fake)
            _upload(page, "cloth", cloth)
            page.locator("#run").click()
            page.wait_for_function("document.querySelector('#status').innerText.includes('Error')", timeout=30_000)
            message = page.locator("#status").inner_text()
            assert "person photo not_an_image.png" in message and "not a JPEG or PNG" in message
            assert "Traceback" not in message

            # 3. A real photo: mediapipe pose and approximate parse on the server, then the try-on.
            page.locator("#person button[aria-label='Clear']").click()
            _upload(page, "person", person)
            page.locator("#run").click()
            pixels, _ = _result_pixels(page, 60_000, previous=src)
            assert pixels.shape == (*SIZE, 3) and roughness(pixels) < 0.4, roughness(pixels)
            status = page.locator("#status").inner_text()
            assert "Done" in status and "approximate" in status
            shot = Path(os.environ.get("ACGPN_DEMO_SCREENSHOT") or tmp_path / "demo.png")
            page.screenshot(path=str(shot), full_page=True)
            assert Image.open(shot).size[0] >= 1000
        finally:
            browser.close()
    assert outside == [], f"the page requested outside hosts: {outside}"
    assert "Traceback" not in (work / "server.log").read_text()
