import cv2
import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory):
    """15 frames of 64x48 at 30 fps (mp4v), each a different grey level."""
    path = tmp_path_factory.mktemp("live") / "tiny.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (64, 48))
    for k in range(15):
        writer.write(np.full((48, 64, 3), 10 + 15 * k, np.uint8))
    writer.release()
    return path
