import itertools
from collections import Counter

import numpy as np

from engines.landmarks import FACE_OVAL, INNER_LIP_UPPER, LEFT_BROW, LEFT_EYE_CONTOUR, RIGHT_BROW, RIGHT_EYE_CONTOUR
from engines.mesh import MESH_POINTS, mirror, triangles


def _edges(corners):
    return Counter(tuple(sorted(pair)) for triangle in corners.tolist() for pair in itertools.combinations(triangle, 2))


def test_the_mirror_swaps_the_sides_and_keeps_the_midline():
    image = mirror()
    assert np.array_equal(image[image], np.arange(MESH_POINTS))  # an involution
    assert np.array_equal(image[RIGHT_EYE_CONTOUR], LEFT_EYE_CONTOUR)
    assert set(image[RIGHT_BROW].tolist()) == set(LEFT_BROW.tolist())
    assert np.array_equal(image[INNER_LIP_UPPER], INNER_LIP_UPPER[::-1])
    assert np.array_equal(image[FACE_OVAL[1:]], FACE_OVAL[1:][::-1])  # 10 (forehead top) is its own
    for midline in (1, 4, 6, 10, 152, 168):
        assert image[midline] == midline


def test_the_mirror_maps_the_mesh_onto_itself():
    edges = set(_edges(triangles()))
    image = mirror()
    kept = sum(tuple(sorted((image[a], image[b]))) in edges for a, b in edges)
    assert kept / len(edges) > 0.985  # MediaPipe's tessellation and the mouth strip's diagonals lean one way


def test_the_triangles_make_one_surface_without_holes_bounded_by_the_face_oval():
    corners = triangles()
    edges = _edges(corners)
    assert max(edges.values()) == 2  # no triangle lies over another
    boundary = {edge for edge, uses in edges.items() if uses == 1}
    oval = {tuple(sorted((a, b))) for a, b in zip(FACE_OVAL, np.roll(FACE_OVAL, -1))}
    assert boundary == oval  # the eyes and the mouth are closed
    assert MESH_POINTS - len(edges) + len(corners) == 1  # Euler characteristic of a disk


def test_the_triangles_wind_one_way():
    corners = triangles().tolist()
    directed = Counter((a, b) for t in corners for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])))
    assert max(directed.values()) == 1  # a shared edge runs opposite ways in its two triangles
