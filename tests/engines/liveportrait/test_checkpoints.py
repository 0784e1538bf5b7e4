"""Loading weights: the official layout and our safetensors conversion load; damaged or mismatched files
fail with the file and the keys named; pickled code is refused, not run; `livepuppet models`."""

from __future__ import annotations

import os
import pathlib
from pathlib import Path

import pytest
import torch

from engines.base import LivePuppetError
from engines.liveportrait.checkpoints import check_weights, load_state_dicts, locate
from engines.liveportrait.layout import BASE_FILES, RETARGETING_FILE
from realtime.cli import main

F_FILE = BASE_FILES["appearance_feature_extractor"]


def linked_copy(weights: Path, target: Path) -> Path:
    """A weights folder whose files are symlinks to ``weights`` (so one can be replaced cheaply)."""
    for relative in [*BASE_FILES.values(), RETARGETING_FILE]:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(weights / relative, target / relative)
    return target


def replace_file(folder: Path, relative: str, payload) -> Path:
    path = folder / relative
    path.unlink()
    torch.save(payload, path)
    return path


def test_official_layout_is_found_and_checked(synthetic_weights):
    weights = check_weights(synthetic_weights)
    assert weights.format == "pth"
    raw = torch.load(synthetic_weights / RETARGETING_FILE, weights_only=True)
    assert set(raw) == {"retarget_shoulder", "retarget_mouth", "retarget_eye"}
    assert all(k.startswith("module.") for k in raw["retarget_eye"])  # stripped by the loader


def test_layout_below_a_pretrained_weights_folder(synthetic_weights, tmp_path):
    linked_copy(synthetic_weights, tmp_path / "pretrained_weights" / "liveportrait")
    assert locate(tmp_path).root == tmp_path / "pretrained_weights" / "liveportrait"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda sd: sd.pop("second.bias"), ["missing keys", "second.bias"]),
        (lambda sd: sd.__setitem__("extra.weight", torch.zeros(3)), ["unexpected keys", "extra.weight"]),
        (lambda sd: sd.__setitem__("first.conv.weight", torch.zeros(64, 3, 5, 5)),
         ["wrong shapes", "first.conv.weight (64, 3, 5, 5) != (64, 3, 3, 3)"]),
    ],
    ids=["missing", "unexpected", "shape"],
)  # fmt: skip
def test_mismatched_checkpoint_names_file_and_keys(synthetic_weights, tmp_path, mutate, expected):
    folder = linked_copy(synthetic_weights, tmp_path)
    state = torch.load(synthetic_weights / F_FILE, weights_only=True)
    mutate(state)
    path = replace_file(folder, F_FILE, state)
    with pytest.raises(LivePuppetError) as info:
        load_state_dicts(folder)
    message = str(info.value)
    assert str(path) in message and "appearance_feature_extractor" in message
    for fragment in expected:
        assert fragment in message


def test_missing_sub_dict_and_missing_file(synthetic_weights, tmp_path):
    folder = linked_copy(synthetic_weights, tmp_path / "a")
    bundle = torch.load(synthetic_weights / RETARGETING_FILE, weights_only=True)
    del bundle["retarget_eye"]
    replace_file(folder, RETARGETING_FILE, bundle)
    with pytest.raises(LivePuppetError, match="retarget_eye"):
        load_state_dicts(folder)
    folder = linked_copy(synthetic_weights, tmp_path / "b")
    (folder / BASE_FILES["warping_module"]).unlink()
    with pytest.raises(LivePuppetError, match="base_models/warping_module.pth"):
        locate(folder)
    with pytest.raises(LivePuppetError, match="no LivePortrait weights"):
        locate(tmp_path / "a" / "base_models")


def test_truncated_file_is_a_clear_error(synthetic_weights, tmp_path):
    folder = linked_copy(synthetic_weights, tmp_path)
    data = (synthetic_weights / F_FILE).read_bytes()
    (folder / F_FILE).unlink()
    (folder / F_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(LivePuppetError, match="cannot read checkpoint"):
        load_state_dicts(folder)


class _Payload:
    """Unpickling this runs ``Path.touch(marker)``: a stand-in for arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_pickled_code_is_refused_not_run(synthetic_weights, tmp_path):
    folder = linked_copy(synthetic_weights, tmp_path / "weights")
    marker = tmp_path / "payload-ran"
    state = torch.load(synthetic_weights / F_FILE, weights_only=True)
    state["first.conv.bias"] = _Payload(marker)
    path = replace_file(folder, F_FILE, state)
    with pytest.raises(LivePuppetError, match="refused to load"):
        load_state_dicts(folder)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the payload is real: an unsafe load would have run it
    assert marker.exists()


def test_cli_check_accepts_and_rejects(synthetic_weights, tmp_path, capsys):
    assert main(["models", "check", str(synthetic_weights)]) == 0
    assert "weights OK" in capsys.readouterr().out
    folder = linked_copy(synthetic_weights, tmp_path)
    state = torch.load(synthetic_weights / BASE_FILES["motion_extractor"], weights_only=True)
    state.pop("detector.fc_yaw.weight")
    replace_file(folder, BASE_FILES["motion_extractor"], state)
    assert main(["models", "check", str(folder)]) == 2
    err = capsys.readouterr().err
    assert (
        "detector.fc_yaw.weight" in err
        and "motion_extractor.pth" in err
        and len(err.strip().splitlines()) == 1
    )


def test_safetensors_conversion_round_trip(synthetic_weights, tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["models", "convert", str(synthetic_weights), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{Path(f).stem}.safetensors" for f in BASE_FILES.values()]
        + ["stitching_retargeting_module.safetensors"]
    )
    converted, states = load_state_dicts(out)
    assert converted.format == "safetensors"
    _, originals = load_state_dicts(synthetic_weights)
    for name, state in originals.items():
        assert state.keys() == states[name].keys(), name
        for key in ("mlp.0.weight", "G_middle_0.conv_0.weight_u", "detector.fc_kp.weight", "second.weight"):
            if key in state:
                assert torch.equal(state[key], states[name][key])


def test_download_failure_is_one_clear_line(monkeypatch, tmp_path, capsys):
    import huggingface_hub

    def offline(**_kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)  # never touch the network in tests
    assert main(["models", "download", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "could not download KwaiVGI/LivePortrait" in err and "network unreachable" in err
