"""`livepuppet export`: writes the graphs and a manifest; TensorRT's absence is one clear line."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from realtime.cli import main


def test_export_onnx_writes_graphs_and_manifest(onnx_files, synthetic_weights, tmp_path):
    out = tmp_path / "exported"
    out.mkdir()
    for name, path in onnx_files.items():  # reuse the session's export; the command fills in what is missing
        if name != "lip":
            os.link(path, out / path.name)
    assert main(["export", "--weights", str(synthetic_weights), "--runtime", "onnx", "--out", str(out)]) == 0
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["grid_sample"] == "plugin-free" and manifest["opset"] == 18
    assert set(manifest["graphs"]) == set(onnx_files)
    assert (out / "lip.onnx").is_file()  # the missing graph was exported
    assert manifest["graphs"]["warping"]["inputs"]["feature"] == [1, 32, 16, 64, 64]


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed")
def test_export_trt_without_tensorrt_is_one_line(tmp_path, capsys):
    code = main(["export", "--weights", str(tmp_path), "--runtime", "trt", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install tensorrt" in err[0]


def test_fp16_needs_trt(tmp_path, capsys):
    assert main(["export", "--weights", str(tmp_path), "--out", str(tmp_path / "o"), "--fp16"]) == 2
    assert "--fp16" in capsys.readouterr().err
