"""Face-mesh conditioning images in the style the public MediaPipe-face ControlNet was trained on.

That ControlNet (``CrucibleAI/ControlNetMediaPipeFace``, trained on LAION-Face) sees images drawn by its
annotator (the ``mediapipe_face`` annotator shipped with ControlNet and ``controlnet_aux``):

* a black canvas the size of the image;
* MediaPipe's face-mesh *contour* connection sets only (``FACEMESH_FACE_OVAL``, ``_LEFT_EYE``,
  ``_LEFT_EYEBROW``, ``_RIGHT_EYE``, ``_RIGHT_EYEBROW``, ``_LIPS``; no tessellation, no iris rings), each
  edge a ``cv2.line`` of thickness 2 between the two landmarks' pixels (``floor(x)``, clamped to the last
  column/row) in a per-group colour; an edge is skipped when either end lies outside the image;
* the two pupils (landmarks 468 and 473) as filled 4x4 squares ``[y-2:y+2, x-2:x+2]``;
* colours given as MediaPipe ``DrawingSpec`` tuples in BGR order and the whole canvas channel-flipped at
  the end, so the RGB colours below are those tuples reversed.

"Left"/"right" are the subject's (MediaPipe's convention): the subject's left eye is on the image's right
in an unmirrored photo. The annotator detected faces at 512 px (``detect_resolution``); lines are 2 px at
that scale, which is what :func:`draw_face_mesh` does by default at any size (pass ``thickness`` to scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

RIGHT_PUPIL, LEFT_PUPIL = 468, 473


@dataclass(frozen=True, slots=True)
class EdgeGroup:
    name: str  # the MediaPipe connection set, e.g. "FACEMESH_LIPS"
    colour: tuple[int, int, int]  # RGB as it appears in the conditioning image
    edges: np.ndarray  # (E, 2) int landmark index pairs


# RGB colours of the annotator (its BGR DrawingSpec tuples reversed), in its drawing order.
GROUP_COLOURS = {
    "FACEMESH_FACE_OVAL": (10, 200, 10),  # head_draw (10, 200, 10)
    "FACEMESH_LEFT_EYE": (10, 200, 180),  # left_eye_draw (180, 200, 10)
    "FACEMESH_LEFT_EYEBROW": (10, 220, 180),  # left_eyebrow_draw (180, 220, 10)
    "FACEMESH_RIGHT_EYE": (180, 200, 10),  # right_eye_draw (10, 200, 180)
    "FACEMESH_RIGHT_EYEBROW": (180, 220, 10),  # right_eyebrow_draw (10, 220, 180)
    "FACEMESH_LIPS": (10, 180, 10),  # mouth_draw (10, 180, 10)
}
PUPIL_COLOURS = {
    RIGHT_PUPIL: (250, 200, 10),  # right_iris_draw (10, 200, 250)
    LEFT_PUPIL: (10, 200, 250),  # left_iris_draw (250, 200, 10)
}
LINE_THICKNESS = 2
PUPIL_HALF_WIDTH = 2


@cache
def edge_groups() -> tuple[EdgeGroup, ...]:
    """The annotator's connection sets (from MediaPipe's own ``face_mesh_connections``) with their colours."""
    from mediapipe.python.solutions import face_mesh_connections as connections

    return tuple(
        EdgeGroup(name, colour, np.array(sorted(getattr(connections, name)), dtype=np.int64))
        for name, colour in GROUP_COLOURS.items()
    )


def draw_face_mesh(
    landmarks: np.ndarray,
    size: tuple[int, int],
    thickness: int = LINE_THICKNESS,
    pupil_half_width: int = PUPIL_HALF_WIDTH,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The conditioning image (H, W, 3) uint8 RGB for 478 landmarks ``(478, >=2)`` in pixels of an image of
    ``size`` = (width, height). Draws into ``out`` (cleared to black) when given and returns it."""
    width, height = size
    canvas = np.zeros((height, width, 3), np.uint8) if out is None else out
    canvas[:] = 0
    xy = landmarks[:, :2].astype(np.float64)
    # The annotator's pixel rule: points outside [0, 1] (normalised) are not drawn; floor, clamp to the edge.
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= width) & (xy[:, 1] >= 0) & (xy[:, 1] <= height)
    pixels = np.minimum(np.floor(xy), [width - 1, height - 1]).astype(np.int64)  # (478, 2)
    for group in edge_groups():
        # The annotator draws in BGR; drawing the RGB colour into an RGB canvas is the same picture.
        for start, end in group.edges[inside[group.edges].all(axis=1)]:
            cv2.line(
                canvas, tuple(map(int, pixels[start])), tuple(map(int, pixels[end])), group.colour, thickness
            )
    for index, colour in PUPIL_COLOURS.items():
        x, y = xy[index]
        if not (0 <= x < width and 0 <= y < height):
            continue
        column, row = int(x), int(y)
        canvas[
            max(row - pupil_half_width, 0) : row + pupil_half_width,
            max(column - pupil_half_width, 0) : column + pupil_half_width,
        ] = colour
    return canvas


def contact_sheet(images: list[np.ndarray], columns: int = 4, gap: int = 4) -> np.ndarray:
    """Equal-sized RGB images tiled left-to-right, top-to-bottom on a grey background (for looking at)."""
    height, width = images[0].shape[:2]
    rows = -(-len(images) // columns)
    sheet = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap, 3), 96, np.uint8)
    for number, image in enumerate(images):
        row, column = divmod(number, columns)
        top, left = gap + row * (height + gap), gap + column * (width + gap)
        sheet[top : top + height, left : left + width] = image
    return sheet
