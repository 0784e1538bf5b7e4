"""Eyeball re-rendering for gaze. When the driver looks sideways the warp drags the iris across the eye and
smears it over the white: the eye turns dark. Instead, where the gaze moves, the eye opening is redrawn:
the sclera in the source's own white (shaded under the upper lid and towards the corners), and the source's
iris disk moved to the target iris position and scaled with the eye. Lids and lashes stay the warp's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.landmarks import LEFT_IRIS, RIGHT_IRIS, eye_openings
from engines.warp.polygon import polygon_patch

DEFAULT_SCLERA = np.array([232, 226, 220], np.float32)
DEFAULT_IRIS = np.array([78, 56, 44], np.float32)  # a dark neutral brown


@dataclass(frozen=True, slots=True)
class EyeTexture:
    """What one source eye looks like: its iris disk (the part its lids leave visible) and its white."""

    iris_patch: np.ndarray  # (S, S, 3) float32 source pixels around the iris centre
    iris_alpha: np.ndarray  # (S, S) float32: the iris disk
    radius: float  # source iris radius, px
    sclera: np.ndarray  # (3,)


def eye_texture(
    image: np.ndarray, points: np.ndarray, contour: np.ndarray, iris: np.ndarray, iris_colour: np.ndarray = DEFAULT_IRIS
) -> EyeTexture:
    """Sample one eye of ``image`` (RGB uint8) from its landmarks ``points`` (478, >=2) in its pixels;
    ``iris_colour`` completes an iris the lids hide."""
    centre = points[iris[0], :2]
    radius = float(np.linalg.norm(points[iris[1:], :2] - centre, axis=1).mean())
    half = int(np.ceil(radius * 1.3)) + 1
    size = 2 * half + 1
    # The patch around the iris (replicated at the image border).
    to_patch = np.array([[1, 0, half - centre[0]], [0, 1, half - centre[1]]], np.float32)
    patch = cv2.warpAffine(image, to_patch, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    opening = np.zeros((size, size), np.uint8)
    cv2.fillPoly(opening, [np.round(points[contour, :2] + to_patch[:, 2]).astype(np.int32)], 1)
    opening = cv2.erode(opening, np.ones((3, 3), np.uint8))  # keep the lash line out of the iris
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    distance = np.hypot(xx - half, yy - half)
    disk = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    visible = disk * opening
    # The white: the brighter part of the opening outside the iris disk.
    x0, y0 = np.floor(points[contour, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(points[contour, :2].max(axis=0)).astype(int) + 1
    region = image[max(y0, 0) : y1, max(x0, 0) : x1].astype(np.float32)
    mask = np.zeros(region.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[contour, :2] - (max(x0, 0), max(y0, 0))).astype(np.int32)], 1)
    gy, gx = np.mgrid[0 : region.shape[0], 0 : region.shape[1]]
    outside_iris = np.hypot(gx + max(x0, 0) - centre[0], gy + max(y0, 0) - centre[1]) > radius * 1.1
    candidates = region[(mask > 0) & outside_iris]
    sclera = DEFAULT_SCLERA
    if len(candidates) >= max(12, 0.5 * np.pi * radius**2):
        brightness = candidates.sum(axis=1)
        sampled = np.median(candidates[brightness >= np.percentile(brightness, 80)], axis=0).astype(np.float32)
        # A narrow source eye shows little white: lean on a neutral white as the sample gets darker.
        trust = float(np.clip((sampled.mean() - 110.0) / 80.0, 0.0, 1.0))
        sclera = trust * sampled + (1.0 - trust) * DEFAULT_SCLERA * (sampled.mean() / 200.0 + 0.25)
    # Where the lids hide the iris (a narrowed or closed source eye), it is completed: the visible iris's own
    # colour, else ``iris_colour``, with a darker rim, a pupil and a catch-light, so the eye can open.
    seen = patch[visible > 0.9]
    colour = np.median(seen, axis=0).astype(np.float32) if len(seen) >= 0.25 * np.pi * radius**2 else iris_colour
    full = synthetic_iris(size, radius, colour)
    patch = visible[..., None] * patch + (1.0 - visible[..., None]) * full
    return EyeTexture(patch.astype(np.float32), disk.astype(np.float32), radius, sclera)


def iris_colour(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The iris colour of the more open eye of ``image`` (median over the ring between pupil and rim), or
    a dark neutral when both are (nearly) closed. ``points`` (478, >=2) px."""
    openings = eye_openings(points)
    if openings.max() < 0.15:
        return DEFAULT_IRIS
    iris = (RIGHT_IRIS, LEFT_IRIS)[int(np.argmax(openings))]
    centre = points[iris[0], :2]
    radius = float(np.linalg.norm(points[iris[1:], :2] - centre, axis=1).mean())
    height, width = image.shape[:2]
    x0, y0 = np.maximum(np.floor(centre - radius).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(centre + radius).astype(int) + 1, (width, height))
    yy, xx = np.mgrid[y0:y1, x0:x1]
    r = np.hypot(xx - centre[0], yy - centre[1]) / max(radius, 1e-3)
    ring = image[y0:y1, x0:x1][(r > 0.5) & (r < 0.85)]
    return np.median(ring, axis=0).astype(np.float32) if len(ring) >= 6 else DEFAULT_IRIS


def synthetic_iris(size: int, radius: float, colour: np.ndarray) -> np.ndarray:
    """(size, size, 3) float32: an iris of ``colour`` centred in the patch: darker towards its rim, a pupil of
    0.45 radius and a small catch-light up and to the side."""
    half = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(xx - half, yy - half) / max(radius, 1e-3)
    iris = colour[None, None, :] * (1.0 - 0.35 * np.clip(r, 0.0, 1.0) ** 3)[..., None]
    pupil = np.clip((0.45 - r) * radius + 0.5, 0.0, 1.0)[..., None]
    iris = iris * (1.0 - pupil) + np.array([12, 10, 10], np.float32) * pupil
    light = np.clip(0.18 * radius + 0.5 - np.hypot(xx - half - 0.35 * radius, yy - half + 0.35 * radius), 0.0, 1.0)
    return iris + (np.array([250, 250, 250], np.float32) - iris) * 0.85 * light[..., None]


def paint_eye(
    image: np.ndarray, target: np.ndarray, contour: np.ndarray, iris: np.ndarray, eye: EyeTexture,
    scale: float, weight: float, lashes: np.ndarray | None = None,
) -> None:  # fmt: skip
    """Redraw the eye opening of ``image`` (RGB uint8, in place) around the target landmarks (478, >=2):
    ``scale`` is target / source eye size, ``weight`` in [0, 1] how much of the redrawn eye shows. With a
    ``lashes`` colour a lash line is drawn along the upper lid too (an eye the portrait has closed)."""
    if weight <= 0:
        return
    polygon = target[contour, :2]
    # 1. The opening, a pixel inside the lid line (the warped lids and lashes stay), feathered.
    patch = polygon_patch(polygon, image.shape, pad=1, blur=3, inset=True)
    if patch is None:
        return
    (x0, y0, x1, y1), opening = patch
    opening *= weight
    box = (x1 - x0, y1 - y0)
    # 2. The white, shaded under the upper lid and towards the corners.
    rows = np.arange(y0, y1, dtype=np.float32)[:, None]
    columns = np.arange(x0, x1, dtype=np.float32)[None, :]
    top, bottom = polygon[:, 1].min(), polygon[:, 1].max()
    left, right = polygon[:, 0].min(), polygon[:, 0].max()
    down = np.clip((rows - top) / max(bottom - top, 1.0), 0.0, 1.0)
    across = np.clip(np.abs(columns - 0.5 * (left + right)) / max(0.5 * (right - left), 1.0), 0.0, 1.0)
    shade = (0.78 + 0.22 * np.sqrt(down)) * (1.0 - 0.18 * across**2)
    colour = eye.sclera * shade[..., None]
    # 3. The iris: the source disk, scaled with the eye, at the target centre; lid-covered parts filled.
    centre = target[iris[0], :2] - (x0, y0)
    half = (eye.iris_patch.shape[0] - 1) / 2
    to_box = np.array([[scale, 0, centre[0] - scale * half], [0, scale, centre[1] - scale * half]], np.float32)
    patch = cv2.warpAffine(eye.iris_patch, to_box, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(eye.iris_alpha, to_box, box, flags=cv2.INTER_LINEAR)[..., None]
    yy, xx = rows - y0, columns - x0
    disk = np.clip(eye.radius * scale + 0.5 - np.hypot(xx - centre[0], yy - centre[1]), 0.0, 1.0)[..., None]
    region = image[y0:y1, x0:x1].astype(np.float32)
    colour = colour * (1.0 - disk * alpha) + patch * disk * alpha
    # 4. Blend into the image (with the lash line on the upper lid, for an eye the portrait has closed).
    mask = opening[..., None]
    if lashes is not None:
        line = lash_line((x0, y0, x1, y1), polygon[:9], float(np.linalg.norm(polygon[8] - polygon[0])))
        colour = colour * (1.0 - line) + lashes * line
        mask = np.maximum(mask, line * weight)
    region += (colour - region) * mask
    image[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class LidTexture:
    """One source eye's upper lid: its skin and lash-line colours (RGB float32), and ``cover``: the eye's
    surroundings with the eye itself filled in from them (float32, portrait px from ``cover_origin``), the
    skin a shut lid shows, shaded as the portrait's own skin there."""

    skin: np.ndarray
    lashes: np.ndarray
    cover: np.ndarray  # (h, w, 3) float32
    cover_origin: np.ndarray  # (2,) float32, the cover's top-left in portrait px


LID_COVER_REACH = 0.15  # a shut lid covers this many eye widths beyond the lid margins (the lashes)
LID_SKIN_ABOVE = 0.3  # eye widths above the upper lid margin: the lid's skin, beyond lashes and liner
LID_SKIN_BELOW = 0.18  # eye widths below the lower lid margin: the cheek's skin
SEAM_DARKNESS = 0.5  # where the lids meet, at most this share of the skin's brightness (pale lashes too)


def lid_texture(image: np.ndarray, points: np.ndarray, contour: np.ndarray, upper: np.ndarray) -> LidTexture:
    """Sample the upper lid of one eye of ``image`` (RGB uint8) at its landmarks ``points`` (478, >=2)."""
    height, width = image.shape[:2]
    corners = points[contour[8], :2] - points[contour[0], :2]
    eye_width = max(float(np.linalg.norm(corners)), 1.0)
    up = np.array([corners[1], -corners[0]]) / eye_width
    up = up if up[1] <= 0 else -up
    lid = points[upper, :2]

    def sample(at: np.ndarray) -> np.ndarray:
        xy = np.clip(np.round(at).astype(int), 0, (width - 1, height - 1))
        return image[xy[:, 1], xy[:, 0]].astype(np.float32)

    # Lid skin: above the crease and below the lower lid (the crease itself is in shadow).
    lower = points[contour[9:], :2]
    around = [sample(lid + f * eye_width * up) for f in (0.25, 0.32, 0.4)]
    around += [sample(lower - f * eye_width * up) for f in (0.15, 0.22)]
    skin = np.median(np.concatenate(around), axis=0)
    line = np.concatenate([sample(lid + f * eye_width * up) for f in (0.0, 0.02, 0.04)])
    darkest = line[line.sum(axis=1) <= np.percentile(line.sum(axis=1), 30)]
    cover, origin = _filled_eye(image, lid, lower, eye_width)
    return LidTexture(
        skin=skin.astype(np.float32), lashes=np.median(darkest, axis=0).astype(np.float32), cover=cover,
        cover_origin=origin,
    )  # fmt: skip


def _filled_eye(image: np.ndarray, upper: np.ndarray, lower: np.ndarray, eye_width: float) -> tuple[np.ndarray, np.ndarray]:
    """The region around an eye with the eye, its lashes and liner replaced by skin: in each column, from the
    lid skin above the lashes down to the cheek skin below the lower lid, the two colours blended across.
    ``upper``, ``lower``: the lid lines (N, 2) px. Returns (h, w, 3) float32 and its top-left (2,) float32 in
    ``image`` px."""
    height, width = image.shape[:2]
    points = np.concatenate([upper, lower])
    margin = int(np.ceil(0.6 * eye_width))
    x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int) - margin, 0)
    x1, y1 = np.minimum(np.ceil(points.max(axis=0)).astype(int) + margin + 1, (width, height))
    cover = image[y0:y1, x0:x1].astype(np.float32)
    columns = np.arange(x0, x1, dtype=np.float32)
    top = np.interp(columns, *_sorted_by_x(upper)) - LID_SKIN_ABOVE * eye_width  # (w,) rows of skin above...
    bottom = np.interp(columns, *_sorted_by_x(lower)) + LID_SKIN_BELOW * eye_width  # ...and below the eye

    def skin_along(rows: np.ndarray, direction: float) -> np.ndarray:
        steps = rows[None, :] + direction * eye_width * np.array([0.0, 0.05, 0.1], np.float32)[:, None]
        y = np.clip(np.round(steps).astype(int), 0, height - 1)
        x = np.broadcast_to(columns.astype(int), y.shape)
        colour = image[y, x].astype(np.float32).mean(axis=0)  # (w, 3)
        size = 2 * int(0.15 * eye_width) + 1
        return cv2.GaussianBlur(colour[None], (size, 1), 0)[0]

    above, below = skin_along(top, -1.0), skin_along(bottom, 1.0)
    rows = np.arange(y0, y1, dtype=np.float32)[:, None]
    share = np.clip((rows - top) / np.maximum(bottom - top, 1.0), 0.0, 1.0)[..., None]  # 0 at top, 1 at bottom
    fill = above[None] * (1.0 - share) + below[None] * share
    band = (np.clip(rows - top + 0.5, 0.0, 1.0) * np.clip(bottom - rows + 0.5, 0.0, 1.0))[..., None]
    cover += (fill - cover) * band
    return cover, np.array([x0, y0], np.float32)


def paint_lid(
    image: np.ndarray, target: np.ndarray, opening: np.ndarray, upper: np.ndarray, lid: LidTexture,
    carry: np.ndarray, weight: float,
) -> None:  # fmt: skip
    """Close an eye of ``image`` (RGB uint8, in place) under its lid. ``opening`` (N, 2) px: the portrait's
    eye opening carried along with the head by ``carry`` (2, 3: portrait px -> ``image`` px; the warp leaves
    the squeezed eye there). The lid comes down as a wipe: above the target upper lid (``target`` (478, >=2)
    px) the portrait's filled-in lid skin shows, with the lash line along the target lid; below it the
    squeezed eye stays until the eye is nearly shut. ``weight`` in [0, 1]: how closed (0 leaves the image
    untouched, 1 covers the whole eye)."""
    if weight <= 0:
        return
    eye_width = float(np.linalg.norm(opening[8] - opening[0]))
    reach = max(1, int(round(LID_COVER_REACH * eye_width)))
    patch = polygon_patch(opening, image.shape, pad=reach + 3, blur=5)
    if patch is None:
        return
    (x0, y0, x1, y1), inside = patch
    around = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    lashes = lash_line((x0, y0, x1, y1), target[upper, :2], eye_width)
    region = image[y0:y1, x0:x1].astype(np.float32)
    # The filled-in lid skin, carried with the head into the patch, shaded a little towards the lash line.
    to_patch = carry.astype(np.float64).copy()
    to_patch[:, 2] += carry[:, :2] @ lid.cover_origin - (x0, y0)
    skin = cv2.warpAffine(lid.cover, to_patch, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rows = np.arange(y0, y1, dtype=np.float32)[:, None, None]
    line = np.interp(np.arange(x0, x1, dtype=np.float32), *_sorted_by_x(target[upper, :2]))[None, :, None]
    shade = 1.0 - 0.12 * np.exp(-(((rows - line) / max(0.12 * eye_width, 1.0)) ** 2))
    colour = skin * shade
    colour += (np.minimum(lid.lashes, SEAM_DARKNESS * lid.skin) - colour) * lashes  # shut lids meet in a dark seam
    # The wipe: the opening above the lid line; below it, and the lashes around, only as the eye shuts
    # (no see-through lid).
    above = np.clip(line - rows + 0.5, 0.0, 1.0)
    shut = float(np.clip((weight - 0.6) / 0.4, 0.0, 1.0))
    mask = np.maximum(inside[..., None] * above * min(1.0, 2.0 * weight), around[..., None] * shut)
    mask = np.maximum(mask, lashes * weight)
    region += (colour - region) * mask
    image[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


def lash_line(box: tuple[int, int, int, int], lid: np.ndarray, eye_width: float) -> np.ndarray:
    """(h, w, 1) float32 mask over ``box`` of a lash line along the lid polyline ``lid`` (N, 2) image px."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    thickness = max(1, int(round(0.05 * eye_width)))
    cv2.polylines(mask, [np.round((lid - (x0, y0)) * 4).astype(np.int32)], False, 255, thickness, cv2.LINE_AA, shift=2)
    return cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32)[..., None] / 255.0


def _sorted_by_x(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]
