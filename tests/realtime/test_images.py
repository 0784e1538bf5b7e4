import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from engines.base import LivePuppetError
from engines.images import fit_longest_side
from realtime.images import MAX_SIDE, load_image


def _pattern(height=48, width=64) -> np.ndarray:
    """An asymmetric RGB test pattern (so rotations and flips are told apart)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x * y) % 256], axis=2).astype(np.uint8)


def test_rgba_is_composited_over_white(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :15] = (10, 200, 30, 255)  # opaque green on the left
    rgba[:, 15:] = (0, 0, 0, 0)  # fully transparent (hidden colour black) on the right
    path = tmp_path / "cutout.png"
    cv2.imwrite(str(path), rgba[:, :, [2, 1, 0, 3]])
    image = load_image(path)
    assert image.shape == (20, 30, 3) and image.dtype == np.uint8
    assert (image[:, :15] == (10, 200, 30)).all()
    assert (image[:, 15:] == 255).all()


def test_greyscale_becomes_three_equal_channels(tmp_path):
    grey = _pattern()[:, :, 0]
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), grey)
    image = load_image(path)
    assert image.shape == grey.shape + (3,)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], grey)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_is_rescaled(tmp_path, suffix):
    rgb8 = _pattern()
    path = tmp_path / f"deep{suffix}"
    cv2.imwrite(str(path), (rgb8.astype(np.uint16) * 257)[:, :, ::-1])
    image = load_image(path)
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image, rgb8)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    pattern = _pattern()
    path = tmp_path / f"oriented{orientation}.png"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pattern).save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    np.testing.assert_array_equal(load_image(path), expected)


def test_exif_rotated_jpeg_is_upright(tmp_path):
    pattern = _pattern(40, 80)
    pattern[..., 2] = 128  # smooth content only: JPEG keeps it close
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: a viewer rotates 90° clockwise
    Image.fromarray(pattern).save(path, exif=exif, quality=95)
    image = load_image(path)
    assert image.shape == (80, 40, 3)
    expected = np.rot90(pattern, k=-1)
    assert np.abs(image.astype(int) - expected).mean() < 4
    assert np.abs(image.astype(int) - np.rot90(pattern, k=1)).mean() > 40


def test_very_large_image_is_downscaled(tmp_path):
    big = np.zeros((4320, 7680, 3), np.uint8)
    big[:, :3840] = 200
    path = tmp_path / "8k.jpg"
    cv2.imwrite(str(path), big)
    image = load_image(path)
    assert max(image.shape[:2]) == MAX_SIDE
    assert image.shape[1] / image.shape[0] == pytest.approx(7680 / 4320, rel=1e-2)
    assert load_image(path, max_side=None).shape == (4320, 7680, 3)


def test_unreadable_files_name_the_file(tmp_path):
    corrupt = tmp_path / "portrait.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff not really a jpeg" + bytes(range(256)))
    with pytest.raises(LivePuppetError, match="portrait.jpg"):
        load_image(corrupt)
    with pytest.raises(LivePuppetError, match="missing.png"):
        load_image(tmp_path / "missing.png")


def test_fit_longest_side_keeps_aspect():
    image = np.zeros((300, 600, 3), np.uint8)
    assert fit_longest_side(image, 200).shape == (100, 200, 3)
    assert fit_longest_side(image, 1200).shape == (600, 1200, 3)
    assert fit_longest_side(image, 600) is image
