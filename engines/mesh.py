"""The MediaPipe face mesh as a surface: its triangles (holes closed) and its left-right mirror.

The mirror pairs were found once by reflecting six frontal faces' landmarks (their face frames, see
:func:`engines.landmarks.neutral_points`) about the midline and matching points one to one (Hungarian
assignment on 3-D distance): all six gave the same pairing, an involution with 28 midline points as their
own mirrors, which maps 99.5 % of the tessellation's edges onto edges (MediaPipe's own tessellation is not
quite symmetric).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from engines.landmarks import (
    INNER_LIP_LOWER, INNER_LIP_UPPER, LEFT_EYE_CORNERS, LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_CORNERS,
    RIGHT_EYE_LOWER, RIGHT_EYE_UPPER,
)  # fmt: skip

MESH_POINTS = 468  # the face mesh without the irises
# (subject's right, subject's left) pairs; every other mesh point lies on the midline.
MIRROR_PAIRS = np.array([
    3, 248, 7, 249, 20, 250, 21, 251, 22, 252, 23, 253, 24, 254, 25, 255, 26, 256, 27, 257, 28, 258, 29, 259, 30,
    260, 31, 261, 32, 262, 33, 263, 34, 264, 35, 265, 36, 266, 37, 267, 38, 268, 39, 269, 40, 270, 41, 271, 42, 272,
    43, 273, 44, 274, 45, 275, 46, 276, 47, 277, 48, 278, 49, 279, 50, 280, 51, 281, 52, 282, 53, 283, 54, 284, 55,
    285, 56, 286, 57, 287, 58, 288, 59, 289, 60, 290, 61, 291, 62, 292, 63, 293, 64, 294, 65, 295, 66, 296, 67, 297,
    68, 298, 69, 299, 70, 300, 71, 301, 72, 302, 73, 303, 74, 304, 75, 305, 76, 306, 77, 307, 78, 308, 79, 309, 80,
    310, 81, 311, 82, 312, 83, 313, 84, 314, 85, 315, 86, 316, 87, 317, 88, 318, 89, 319, 90, 320, 91, 321, 92, 322,
    93, 323, 95, 324, 96, 325, 97, 326, 98, 327, 99, 328, 100, 329, 101, 330, 102, 331, 103, 332, 104, 333, 105,
    334, 106, 335, 107, 336, 108, 337, 109, 338, 110, 339, 111, 340, 112, 341, 113, 342, 114, 343, 115, 344, 116,
    345, 117, 346, 118, 347, 119, 348, 120, 349, 121, 350, 122, 351, 123, 352, 124, 353, 125, 354, 126, 355, 127,
    356, 128, 357, 129, 358, 130, 359, 131, 360, 132, 361, 133, 362, 134, 363, 135, 364, 136, 365, 137, 366, 138,
    367, 139, 368, 140, 369, 141, 370, 142, 371, 143, 372, 144, 373, 145, 374, 146, 375, 147, 376, 148, 377, 149,
    378, 150, 379, 153, 380, 154, 381, 155, 382, 156, 383, 157, 384, 158, 385, 159, 386, 160, 387, 161, 388, 162,
    389, 163, 390, 165, 391, 166, 392, 167, 393, 169, 394, 170, 395, 171, 396, 172, 397, 173, 398, 174, 399, 176,
    400, 177, 401, 178, 402, 179, 403, 180, 404, 181, 405, 182, 406, 183, 407, 184, 408, 185, 409, 186, 410, 187,
    411, 188, 412, 189, 413, 190, 414, 191, 415, 192, 416, 193, 417, 194, 418, 196, 419, 198, 420, 201, 421, 202,
    422, 203, 423, 204, 424, 205, 425, 206, 426, 207, 427, 208, 428, 209, 429, 210, 430, 211, 431, 212, 432, 213,
    433, 214, 434, 215, 435, 216, 436, 217, 437, 218, 438, 219, 439, 220, 440, 221, 441, 222, 442, 223, 443, 224,
    444, 225, 445, 226, 446, 227, 447, 228, 448, 229, 449, 230, 450, 231, 451, 232, 452, 233, 453, 234, 454, 235,
    455, 236, 456, 237, 457, 238, 458, 239, 459, 240, 460, 241, 461, 242, 462, 243, 463, 244, 464, 245, 465, 246,
    466, 247, 467
]).reshape(-1, 2)  # fmt: skip


@cache
def mirror() -> np.ndarray:
    """(468,) the index of each mesh point's mirror image (itself on the midline); read-only."""
    out = np.arange(MESH_POINTS)
    out[MIRROR_PAIRS[:, 0]], out[MIRROR_PAIRS[:, 1]] = MIRROR_PAIRS[:, 1], MIRROR_PAIRS[:, 0]
    out.flags.writeable = False
    return out


@cache
def triangles() -> np.ndarray:
    """(T, 3) mesh point indices of the face surface's triangles, all wound the same way: MediaPipe's
    tessellation (the triangles of its edge graph, less the few that merely enclose others) with the eyes
    and the mouth closed by strips between their lids and lips, so the surface has no holes; read-only."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = {tuple(sorted(edge)) for edge in FACEMESH_TESSELATION}
    neighbours: dict[int, set[int]] = {point: set() for point in range(MESH_POINTS)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    found = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]})
    uses: dict[tuple[int, int], int] = {}
    for a, b, c in found:
        for edge in ((a, b), (a, c), (b, c)):
            uses[edge] = uses.get(edge, 0) + 1
    # An edge bounds at most two faces; a triangle whose three edges all bound three encloses others.
    faces = [t for t in found if min(uses[(t[0], t[1])], uses[(t[0], t[2])], uses[(t[1], t[2])]) < 3]
    holes = (
        (RIGHT_EYE_CORNERS, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER),
        (LEFT_EYE_CORNERS, LEFT_EYE_UPPER, LEFT_EYE_LOWER),
        ((INNER_LIP_UPPER[0], INNER_LIP_UPPER[-1]), INNER_LIP_UPPER[1:-1], INNER_LIP_LOWER[1:-1]),
    )
    for corners, upper, lower in holes:
        faces += _strip(corners[0], corners[1], upper, lower)
    out = _orient(np.array(faces, np.int64))
    out.flags.writeable = False
    return out


def _orient(faces: np.ndarray) -> np.ndarray:
    """``faces`` (T, 3) reordered so that all wind the same way (each shared edge runs opposite ways in its
    two triangles): on screen, the triangles facing the camera then share one sign of area and those
    facing away (a turned face's far flank) the other."""
    faces = faces.copy()
    by_edge: dict[tuple[int, int], list[int]] = {}
    for k, (a, b, c) in enumerate(faces.tolist()):
        for edge in ((a, b), (b, c), (c, a)):
            by_edge.setdefault(tuple(sorted(edge)), []).append(k)
    done = np.zeros(len(faces), bool)
    for seed in range(len(faces)):
        if done[seed]:
            continue
        done[seed] = True
        queue = [seed]
        while queue:
            k = queue.pop()
            a, b, c = faces[k].tolist()
            for first, second in ((a, b), (b, c), (c, a)):
                for other in by_edge[tuple(sorted((first, second)))]:
                    if done[other]:
                        continue
                    corners = faces[other].tolist()
                    i = corners.index(first)
                    if corners[(i + 1) % 3] == second:  # the same direction: wind it the other way
                        faces[other] = faces[other][[0, 2, 1]]
                    done[other] = True
                    queue.append(other)
    return faces


def _strip(first: int, last: int, upper, lower) -> list[tuple[int, int, int]]:
    """Triangles closing the opening between two point rows ``upper`` and ``lower`` (paired point by point)
    that meet at the corners ``first`` and ``last``."""
    out = [(first, int(upper[0]), int(lower[0])), (last, int(upper[-1]), int(lower[-1]))]
    for k in range(len(upper) - 1):
        out.append((int(upper[k]), int(upper[k + 1]), int(lower[k])))
        out.append((int(upper[k + 1]), int(lower[k + 1]), int(lower[k])))
    return out
