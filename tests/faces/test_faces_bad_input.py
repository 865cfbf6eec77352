"""Bad input: each kind gets its own error type and a message that says what is wrong."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from harness.faces import (
    FaceTooSmallError,
    ImageDecodeError,
    ImageTooLargeError,
    NoFaceError,
    load_image,
)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header declaring width x height, followed by one tiny compressed row: decoding it
    would need width*height*3 bytes, reading its header needs a few dozen."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match="empty"):
        load_image(p)


def test_missing_file(tmp_path):
    with pytest.raises(ImageDecodeError, match="cannot read"):
        load_image(tmp_path / "nope.jpg")


def test_truncated_jpeg(tmp_path, shared_data):
    data = (shared_data / "faces" / "obama.jpg").read_bytes()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match="truncated"):
        load_image(p)


def test_jpeg_truncated_inside_its_header(tmp_path, shared_data):
    data = (shared_data / "faces" / "obama.jpg").read_bytes()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[:3000])  # ends inside an APP segment: PIL fails already in Image.open
    with pytest.raises(ImageDecodeError, match="truncated"):
        load_image(p)


def test_text_file_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("these are not pixels\n" * 20)
    with pytest.raises(ImageDecodeError, match="not a recognised image format.*text"):
        load_image(p)


def test_huge_image_is_refused_from_its_header(tmp_path):
    data = png_header_only(20000, 20000)
    assert len(data) < 100  # next to nothing to decode: the refusal can only come from the header
    p = tmp_path / "huge.png"
    p.write_bytes(data)
    with pytest.raises(ImageTooLargeError, match="400000000 pixels"):
        load_image(p)
    with pytest.raises(ImageTooLargeError, match="7000x7000 pixels .* over the 40 MP limit"):
        load_image(png_header_only(7000, 7000))


def test_image_conversions_to_bgr_uint8():
    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[..., 0] = 200  # red
    bgr = load_image(encode(rgb, "PNG"))
    assert bgr.shape == (8, 10, 3) and bgr.dtype == np.uint8 and bgr[0, 0].tolist() == [0, 0, 200]
    grey = load_image(encode(np.full((8, 10), 77, np.uint8), "PNG"))
    assert grey.shape == (8, 10, 3) and (grey == 77).all()
    rgba = load_image(encode(np.dstack([rgb, np.full((8, 10), 128, np.uint8)]), "PNG"))
    assert rgba.shape == (8, 10, 3) and rgba[0, 0].tolist() == [0, 0, 200]
    sixteen = load_image(encode(np.full((8, 10), 65535, np.uint16), "PNG"))
    assert sixteen.shape == (8, 10, 3) and (sixteen == 255).all()
    pal = Image.fromarray(rgb).convert("P")
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    assert np.abs(load_image(buf.getvalue())[0, 0].astype(int) - [0, 0, 200]).max() <= 8  # web palette
    assert load_image(rgb[..., ::-1]).tolist() == rgb[..., ::-1].tolist()  # arrays are taken as BGR
    with pytest.raises(ImageDecodeError):
        load_image(np.zeros((0, 5, 3), np.uint8))


@pytest.mark.models
def test_image_without_a_face(models):
    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (31, 31), 0)
    with pytest.raises(NoFaceError, match="no face"):
        models.analyze(encode(smooth[..., ::-1], "JPEG"))


@pytest.mark.models
def test_face_smaller_than_the_minimum(models, shared_data):
    img = load_image(shared_data / "faces" / "obama.jpg")
    (face,) = models.detect(img)
    shrink = 14 / face.height  # the face becomes ~14 px: still detectable, too small to embed
    small = cv2.resize(img, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    with pytest.raises(FaceTooSmallError, match="minimum is 20 px"):
        models.analyze(small)


@pytest.mark.models
def test_a_bad_image_in_a_batch_does_not_lose_the_others(models, shared_data, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    good = [str(shared_data / "faces" / "obama.jpg"), str(shared_data / "faces" / "biden.jpg")]
    results = models.analyze_many([good[0], str(empty), png_header_only(20000, 20000), good[1]])
    assert isinstance(results[1], ImageDecodeError) and "empty.jpg" in str(results[1])
    assert isinstance(results[2], ImageTooLargeError)
    for r in (results[0], results[3]):
        assert isinstance(r, list) and r[0].embedding is not None
    alone = models.analyze(good[1])[0].embedding
    assert np.allclose(results[3][0].embedding, alone, atol=1e-5)
