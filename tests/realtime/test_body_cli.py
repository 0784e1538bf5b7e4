import logging

import numpy as np
import pytest
from skimage import data

from realtime import body_motion
from realtime.body_motion import body_tracking_wanted
from realtime.cli import main


@pytest.mark.parametrize("command", ["render", "live", "demo"])
def test_every_rendering_command_offers_body(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "--body" in text and "{on,off,auto}" in text


def test_body_rejects_other_values(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["render", "--source", "a.png", "--driving", "b.mp4", "--out", "c.mp4", "--body", "yes"])
    assert exit_.value.code == 2 and "--body" in capsys.readouterr().err


def test_off_never_loads_the_pose_model(monkeypatch):
    def fail(image):
        raise AssertionError("the pose model was loaded")

    monkeypatch.setattr(body_motion, "find_portrait_body", fail)
    assert body_tracking_wanted("off", np.zeros((8, 8, 3), np.uint8)) is False


def test_auto_follows_the_portraits_shoulders(caplog):
    portrait = np.ascontiguousarray(data.astronaut())  # head and shoulders
    head_only = np.ascontiguousarray(portrait[:200, 120:330])  # cut above the shoulders
    assert body_tracking_wanted("auto", portrait) is True
    assert body_tracking_wanted("auto", head_only) is False
    with caplog.at_level(logging.WARNING):
        assert body_tracking_wanted("on", head_only) is False
    assert "shoulders" in caplog.text
