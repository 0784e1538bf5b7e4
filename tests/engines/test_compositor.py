import numpy as np

from engines.compositor import PasteBack, feathered_mask


def test_paste_blends_inside_the_mask_and_leaves_the_rest():
    full = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    mask = feathered_mask((100, 100), np.array([[20, 20], [80, 20], [80, 80], [20, 80]]), feather=8)
    paste = PasteBack(full, np.array([[1, 0, 150], [0, 1, 50]], float), mask)
    crop = np.full((100, 100, 3), 7, np.uint8)
    out = paste.paste(crop)
    assert (out[100, 200] == 7).all()  # crop centre, mask 1
    np.testing.assert_array_equal(out[:40], full[:40])  # far from the crop
    edge = out[50 + 14, 150 + 50].astype(int)  # inside the feather: between the two
    assert not (edge == 7).all()


def test_plain_copy_for_integer_translation():
    full = np.zeros((50, 60, 3), np.uint8)
    paste = PasteBack(full, np.array([[1, 0, 10], [0, 1, 5]], float), None)
    out = paste.paste(np.full((20, 30, 3), 9, np.uint8))
    assert (out[5:25, 10:40] == 9).all() and out.sum() == 9 * 20 * 30 * 3
