"""The TensorRT engine cache: a hit only for exactly the same GPU, compute capability, TensorRT version,
precision and ONNX hash; anything else rebuilds (no TensorRT or GPU needed)."""

from __future__ import annotations

import dataclasses

import pytest

from export.engine_cache import EngineCache, EngineKey

KEY = EngineKey("NVIDIA H100 80GB HBM3", "9.0", "10.13.0.35", "fp16", "ab" * 32)


class Builder:
    def __init__(self):
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return f"engine {self.calls}".encode()


def test_builds_once_then_hits(tmp_path):
    cache, build = EngineCache(tmp_path), Builder()
    assert cache.lookup("generator", KEY) is None
    assert cache.load_or_build("generator", KEY, build) == b"engine 1"
    assert cache.load_or_build("generator", KEY, build) == b"engine 1"
    assert build.calls == 1
    assert EngineCache(tmp_path).lookup("generator", KEY) is not None  # survives a new process


@pytest.mark.parametrize(
    "field, value",
    [("gpu_name", "NVIDIA GeForce RTX 4090"), ("compute_capability", "8.9"), ("tensorrt_version", "10.0.1"),
     ("onnx_sha256", "cd" * 32)],
)  # fmt: skip
def test_any_key_change_rebuilds(tmp_path, field, value):
    cache, build = EngineCache(tmp_path), Builder()
    cache.load_or_build("warping", KEY, build)
    changed = dataclasses.replace(KEY, **{field: value})
    assert KEY.differences(changed) == [field]
    assert cache.lookup("warping", changed) is None
    assert cache.load_or_build("warping", changed, build) == b"engine 2"
    assert cache.lookup("warping", KEY) is None  # the slot now holds the new engine
    assert cache.lookup("warping", changed) is not None


def test_precisions_and_graphs_have_separate_slots(tmp_path):
    cache, build = EngineCache(tmp_path), Builder()
    fp32 = dataclasses.replace(KEY, precision="fp32")
    cache.load_or_build("generator", KEY, build)
    cache.load_or_build("generator", fp32, build)
    cache.load_or_build("motion", KEY, build)
    assert build.calls == 3
    assert cache.load_or_build("generator", KEY, build) == b"engine 1"


def test_missing_or_corrupt_key_file_rebuilds(tmp_path):
    cache, build = EngineCache(tmp_path), Builder()
    cache.load_or_build("eye", KEY, build)
    engine, meta = cache.paths("eye", KEY.precision)
    meta.write_text("{not json")
    assert cache.lookup("eye", KEY) is None
    meta.unlink()
    assert cache.lookup("eye", KEY) is None
    assert engine.is_file()


def test_timing_cache_is_per_gpu_and_version(tmp_path):
    cache = EngineCache(tmp_path)
    other = dataclasses.replace(KEY, gpu_name="NVIDIA L4", compute_capability="8.9")
    assert cache.timing_cache_path(KEY) != cache.timing_cache_path(other)
    assert cache.timing_cache_path(KEY) == cache.timing_cache_path(dataclasses.replace(KEY, precision="fp32"))
    assert "/" not in cache.timing_cache_path(KEY).name
