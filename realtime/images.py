"""Still-image loading for portraits: any common format in, RGB ``uint8`` out.

What arrives in practice and how it is normalised:

* EXIF orientation (phone photos): applied, so the image is upright as a viewer shows it.
* Transparency (RGBA, LA, palette with alpha): composited over **white**. Cut-out portraits usually have a
  transparent background whose hidden colour is arbitrary (often black); white is what a viewer shows and
  keeps the face tracker away from stray colours.
* Greyscale: replicated to three channels.
* 16-bit (PNG/TIFF) and float images: rescaled to 8 bits.
* Very large images (8K scans): downscaled to ``max_side`` (default :data:`MAX_SIDE`) on the longest side;
  the renderer asks for a different size when ``--size`` says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from engines.base import LivePuppetError
from engines.images import fit_longest_side

log = logging.getLogger(__name__)

MAX_SIDE = 2048  # longest side a portrait is worked at unless the user asks for a size
EXIF_ORIENTATION = 0x0112


def load_image(path: str | Path, max_side: int | None = MAX_SIDE) -> np.ndarray:
    """The image at ``path`` as RGB uint8 ``(H, W, 3)``, upright, at most ``max_side`` on its longest side
    (None keeps the full resolution). Raises :class:`LivePuppetError` naming the file when unreadable."""
    path = Path(path)
    if not path.is_file():
        raise LivePuppetError(f"image not found: {path}")
    image = _decode_with_opencv(path)
    if image is None:
        image = _decode_with_pillow(path)
    if image is None or image.size == 0:
        raise LivePuppetError(
            f"cannot read image {path}: not an image file, or an unsupported or damaged one"
        )
    image = _to_rgb8(image)
    image = _apply_orientation(image, _exif_orientation(path))
    if max_side is not None and max(image.shape[:2]) > max_side:
        log.info(
            "%s is %dx%d; working at %d px on the longest side",
            path,
            image.shape[1],
            image.shape[0],
            max_side,
        )
        image = fit_longest_side(image, max_side)
    return np.ascontiguousarray(image)




def _decode_with_opencv(path: Path) -> np.ndarray | None:
    """OpenCV keeps the bit depth and alpha (IMREAD_UNCHANGED); it returns BGR(A), converted here to RGB(A)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)  # works with non-ASCII paths, unlike cv2.imread
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error):
        return None
    if image is None:
        return None
    if image.ndim == 3 and image.shape[2] == 3:
        image = image[:, :, ::-1]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, [2, 1, 0, 3]]
    return image


def _decode_with_pillow(path: Path) -> np.ndarray | None:
    """Formats OpenCV lacks (GIF, some TIFF variants): Pillow, as RGB or RGBA."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    except Exception:  # noqa: BLE001 - Pillow raises many types for damaged files; all mean "unreadable"
        return None


def _to_rgb8(image: np.ndarray) -> np.ndarray:
    """Any depth, 1-4 channels -> RGB uint8 (alpha composited over white)."""
    image = _to_uint8(image)
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels in (2, 4):  # grey+alpha or RGB+alpha
        colour, alpha = image[:, :, :-1], image[:, :, -1:].astype(np.float32) / 255.0
        image = (colour.astype(np.float32) * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
        channels -= 1
    if channels == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):  # float TIFF/EXR: 0..1 nominal range
        return (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):  # int32 and friends: stretch the used range
        top = max(int(image.max()), 1)
        return (image.astype(np.float64) * (255.0 / top)).astype(np.uint8)
    raise LivePuppetError(f"unsupported image data type {image.dtype}")


def _exif_orientation(path: Path) -> int:
    """The EXIF orientation tag (1 = upright) without decoding the pixels; 1 when there is none."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            return int(image.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - no readable EXIF means upright
        return 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Undo the EXIF orientation (values 1-8, as in the EXIF specification)."""
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(image, k=-1)
    if orientation == 7:
        return np.rot90(image, k=1)[:, ::-1]
    if orientation == 8:
        return np.rot90(image, k=1)
    return image
