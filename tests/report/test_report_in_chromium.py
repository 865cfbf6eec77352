"""report.html opened in headless Chromium (the Debian package): the page loads without an error
and every image on it -- figures and thumbnails, all data URIs -- decodes (naturalWidth > 0).

Skipped, with the reason, where Chromium is not installed (``apt-get install chromium``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# Injected into a copy of the page, before anything else loads: it records load errors (capturing
# phase, so failed <img> loads count) and script errors, then after "load" writes what it found
# into the DOM, which --dump-dom prints.
CHECK = """<script>
window.__dfiErrors = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.__dfiErrors.push(t && t.tagName ? 'failed to load ' + t.tagName + ' ' + (t.alt || '')
                                         : 'script: ' + e.message);
}, true);
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                     .map(function (i) { return i.alt; });
  var out = document.createElement('pre');
  out.id = 'dfi-check';
  out.textContent = JSON.stringify({images: images.length, broken: broken, errors: window.__dfiErrors,
                                    title: document.title});
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _open(chromium: str, page: Path, profile: Path) -> tuple[dict, str]:
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000", "--dump-dom", page.as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="dfi-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page never fired 'load'; stderr: {done.stderr[-2000:]}"
    text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text), done.stderr


def test_report_loads_in_chromium_and_every_image_resolves(built_report, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); the page is not rendered")
    source = built_report.files.report.read_text()
    assert "<script" not in source  # the report itself runs no script
    checked = built_report.out / "chromium-check.html"  # beside the report: same relative links
    checked.write_text(source.replace("<head>", "<head>" + CHECK, 1))
    try:
        result, stderr = _open(chromium, checked, tmp_path / "profile")
    finally:
        checked.unlink()
    assert result["title"] == "report test"
    assert result["images"] == source.count("<img ") and result["images"] > 3
    assert result["broken"] == [] and result["errors"] == []
    console = [line for line in stderr.splitlines() if ":CONSOLE(" in line]
    assert console == [], console  # where this Chromium logs the console: nothing written there either
