"""The HTML report in a real headless Chromium (Debian's `chromium`; tests/run.sh installs it when
missing): every picture decodes, the page logs nothing to the console, and a screenshot is saved."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archscale.report import compare
from archscale.report.render.output import write_report

pytestmark = pytest.mark.slow
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]
CONSOLE = re.compile(r":CONSOLE[:(]|Uncaught")
ARTIFACTS_ENV = "ARCHSCALE_TEST_ARTIFACTS"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed: run the suite with tests/run.sh (it installs it)")
        pytest.skip("chromium is not installed (tests/run.sh installs it: apt-get install -y chromium)")
    return path


def browse(chromium: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Open `page` in a fresh headless profile; stdout holds --dump-dom's DOM, stderr the browser log."""
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def problems(chromium: str, page: Path, work: Path) -> tuple[list[str], str]:
    """What is wrong with `page` once loaded (pictures that did not decode, console messages), and its DOM."""
    done = browse(chromium, page, work / f"profile-{page.stem}", "--virtual-time-budget=10000", "--dump-dom")
    found = []
    body = re.search(r"<body[^>]*>", done.stdout)
    state = re.search(r'data-images-loaded="(\w+)"', body.group(0)) if body else None
    if done.returncode != 0:
        found.append(f"chromium exited {done.returncode}")
    if state is None or state.group(1) != "true":
        found.append(f"images loaded: {state.group(1) if state else 'no status'}")
    found += [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    return found, done.stdout


def test_the_check_catches_a_broken_page(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body data-images-loaded="pending">'
        '<img src="missing.png"><script>console.error("boom"); missing();</script><script>'
        'window.addEventListener("load", function () { document.body.dataset.imagesLoaded = '
        "Array.prototype.every.call(document.images, function (i) { return i.naturalWidth > 0; }) "
        '? "true" : "false"; });'
        "</script></body></html>"
    )
    found, _ = problems(chromium, page, tmp_path)
    assert "images loaded: false" in found
    assert any('"boom"' in f for f in found) and any("Uncaught ReferenceError" in f for f in found)


def test_the_report_loads_cleanly(chromium, small_study, tmp_path):
    url, name = small_study
    out = tmp_path / "report"
    written = write_report(compare(name, url), out)
    page = out / "report.html"
    pictures = [p for p in written if p.suffix == ".png"]
    found, dom = problems(chromium, page, tmp_path)
    assert found == []
    assert f'data-image-count="{len(pictures)}"' in dom and len(pictures) == 7
    shot = tmp_path / "report-screenshot.png"
    done = browse(chromium, page, tmp_path / "profile-shot", "--window-size=1280,4000", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    keep = os.environ.get(ARTIFACTS_ENV)
    if keep:  # e.g. CI uploads this folder
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
