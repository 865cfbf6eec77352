"""Example probes for the report: per vendor, the deepfakes that fooled it most confidently and the
genuine photos of the targets it did not recognise, each with a small embedded thumbnail.

Image references come from the results table (``deepfake``: a path, relative to the dataset's
folder when the campaign had one) and, for the genuine photos, from the caller (the results table
keeps only the target's label). A reference that cannot be read -- missing file, a URL, a frame
inside a video -- is shown as "image not available"; the report never fails over a picture.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from harness.plotstyle import vendor_display, vendor_order

THUMB_PX = 112        # longest side of a thumbnail
THUMB_QUALITY = 80    # JPEG quality
MAX_IMAGE_BYTES = 50 * 1024 * 1024
UNAVAILABLE = "image not available"


def resolve_image(reference: str, image_root: Path | None) -> Path | None:
    """The file behind an image reference, None for a URL, a video frame (``path#frame``) or nothing."""
    if not reference or "://" in reference or "#" in reference:
        return None
    path = Path(reference)
    if not path.is_absolute() and image_root is not None:
        path = Path(image_root) / path
    return path


def thumbnail_uri(path: Path | None) -> str | None:
    """A JPEG data URI of the image scaled to :data:`THUMB_PX`, None when it cannot be read."""
    if path is None:
        return None
    try:
        from PIL import Image

        if not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        with Image.open(path) as img:
            img.thumbnail((THUMB_PX, THUMB_PX))
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="JPEG", quality=THUMB_QUALITY)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _valid(results: pd.DataFrame) -> pd.DataFrame:
    ok = pd.Series(True, index=results.index)
    for col in ("fake_error", "target_error", "target2_error"):
        if col in results.columns:
            ok &= results[col].fillna("") == ""
    return results[ok]


def most_confident_fooled(results: pd.DataFrame, vendor: str, n: int) -> pd.DataFrame:
    """The vendor's ``n`` valid probes whose deepfake it named with the highest confidence."""
    rows = _valid(results)
    rows = rows[(rows["vendor"] == vendor) & (rows["fake_name"].fillna("") != "")]
    rows = rows.assign(_conf=rows["fake_conf"].astype(float).fillna(0.0))
    return rows.sort_values(["_conf", "dataset", "probe_id"], ascending=[False, True, True], kind="stable").head(n)


def missed_genuine(results: pd.DataFrame, vendor: str, genuine_images: Mapping[str, str] | None) -> pd.DataFrame:
    """Rows whose real target image the vendor named no one on (the call succeeded), one per image:
    per path when ``genuine_images`` (probe id -> path) is given, else per (dataset, target)."""
    rows = results[(results["vendor"] == vendor) & (results["target_error"].fillna("") == "")
                   & (results["target_name"].fillna("") == "")]
    images = genuine_images or {}
    rows = rows.assign(_image=[images.get(str(p), "") for p in rows["probe_id"]])
    key = ["_image"] if genuine_images else ["dataset", "target"]
    return rows.sort_values(["dataset", "target", "probe_id"], kind="stable").drop_duplicates(key)


def _thumb_cell(reference: str, image_root: Path | None) -> str:
    uri = thumbnail_uri(resolve_image(reference, image_root))
    if uri is None:
        return f'<td class="thumb na">{UNAVAILABLE}</td>'
    return f'<td class="thumb"><img alt="{html.escape(reference)}" title="{html.escape(reference)}" src="{uri}"></td>'


def _fooled_table(rows: pd.DataFrame, image_root: Path | None) -> str:
    out = ['<table class="examples"><tr><th>deepfake</th><th class="l">dataset / probe</th><th class="l">target</th>'
           '<th class="l">vendor named</th><th>confidence</th><th>targeted (TA)</th></tr>']
    for r in rows.to_dict("records"):
        named = str(r["fake_name"])
        ta = named in {str(r.get("target_name") or ""), str(r.get("target2_name") or "")} - {""}
        out.append(f'<tr>{_thumb_cell(str(r.get("deepfake") or ""), image_root)}'
                   f'<td class="l">{html.escape(str(r["dataset"]))} / {html.escape(str(r["probe_id"]))}</td>'
                   f'<td class="l">{html.escape(str(r["target"]))}</td><td class="l">{html.escape(named)}</td>'
                   f'<td>{float(r["_conf"]):.2f}</td><td>{"yes" if ta else "no"}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _missed_table(rows: pd.DataFrame, image_root: Path | None) -> str:
    out = ['<table class="examples"><tr><th>genuine photo</th><th class="l">dataset</th><th class="l">celebrity</th>'
           '<th class="l">first probe using it</th></tr>']
    for r in rows.to_dict("records"):
        out.append(f'<tr>{_thumb_cell(str(r["_image"]), image_root)}'
                   f'<td class="l">{html.escape(str(r["dataset"]))}</td>'
                   f'<td class="l">{html.escape(str(r["target"]))}</td>'
                   f'<td class="l">{html.escape(str(r["probe_id"]))}</td></tr>')
    out.append("</table>")
    return "".join(out)


def examples_html(results: pd.DataFrame, *, image_root: Path | None = None,
                  genuine_images: Mapping[str, str] | None = None, per_vendor: int = 6) -> str:
    """The report's "Example probes" section body."""
    if results.empty:
        return "<p>No probes.</p>"
    parts = []
    for vendor in vendor_order(results["vendor"]):
        name = html.escape(vendor_display(vendor))
        fooled = most_confident_fooled(results, vendor, per_vendor)
        missed = missed_genuine(results, vendor, genuine_images)
        parts.append(f"<h3>{name}</h3>")
        if len(fooled):
            parts.append(f"<p>The {len(fooled)} deepfakes {name} named with the highest confidence "
                         "(NA successes; <em>targeted</em>: the name it gave the real target image):</p>")
            parts.append(_fooled_table(fooled, image_root))
        else:
            parts.append(f"<p>{name} named no one on any deepfake.</p>")
        if len(missed):
            shown = missed.head(per_vendor)
            parts.append(f"<p>Genuine photos of the targets {name} did not recognise (named no one): "
                         f"{len(missed)}{f', the first {len(shown)} shown' if len(missed) > len(shown) else ''}.</p>")
            parts.append(_missed_table(shown, image_root))
        else:
            parts.append(f"<p>{name} named someone on every genuine target photo.</p>")
    return "\n".join(parts)


__all__ = ["UNAVAILABLE", "examples_html", "missed_genuine", "most_confident_fooled", "resolve_image",
           "thumbnail_uri"]
