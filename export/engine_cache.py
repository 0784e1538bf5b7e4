"""A cache of serialized TensorRT engines, keyed so a stale engine is never loaded.

An engine is only valid for the GPU model, compute capability and TensorRT version that built it, and for
the ONNX and precision it came from. Each engine file ``<graph>-<precision>.engine`` sits beside a
``.json`` holding its :class:`EngineKey`; a lookup with a different key (new driver stack, other GPU,
re-exported ONNX) reports which fields differ and the engine is rebuilt. Pure Python: no TensorRT or GPU is
needed to use or test this module.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineKey:
    gpu_name: str  # e.g. "NVIDIA H100 80GB HBM3"
    compute_capability: str  # "9.0"
    tensorrt_version: str  # "10.13.0.35"
    precision: str  # "fp32" | "fp16"
    onnx_sha256: str

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> EngineKey:
        return EngineKey(**json.loads(text))

    def differences(self, other: EngineKey) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def default_cache_dir() -> Path:
    """``$LIVEPUPPET_CACHE`` or ``$XDG_CACHE_HOME/livepuppet`` (``~/.cache/livepuppet``)."""
    configured = os.environ.get("LIVEPUPPET_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "livepuppet"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "unknown"


class EngineCache:
    """Engines under ``directory``; one slot per (graph, precision), validated by its key file."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def paths(self, graph: str, precision: str) -> tuple[Path, Path]:
        stem = f"{_slug(graph)}-{_slug(precision)}"
        return self.directory / f"{stem}.engine", self.directory / f"{stem}.json"

    def timing_cache_path(self, key: EngineKey) -> Path:
        """One TensorRT timing cache per GPU model and TensorRT version (shared by all graphs)."""
        return (
            self.directory
            / f"timing-{_slug(key.gpu_name)}-sm{_slug(key.compute_capability)}-trt{_slug(key.tensorrt_version)}.cache"
        )

    def lookup(self, graph: str, key: EngineKey) -> Path | None:
        """The engine file if one exists for exactly ``key``; None (with the reason logged) otherwise."""
        engine, meta = self.paths(graph, key.precision)
        if not (engine.is_file() and meta.is_file()):
            return None
        try:
            stored = EngineKey.from_json(meta.read_text())
        except (ValueError, TypeError) as exc:
            log.info("%s: unreadable engine key (%s); rebuilding", meta, exc)
            return None
        changed = stored.differences(key)
        if changed:
            log.info(
                "%s: cached engine was built for a different %s; rebuilding", engine.name, ", ".join(changed)
            )
            return None
        return engine

    def store(self, graph: str, key: EngineKey, data: bytes) -> Path:
        engine, meta = self.paths(graph, key.precision)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = engine.with_suffix(".engine.tmp")
        tmp.write_bytes(data)
        tmp.replace(engine)  # the key is written last: an interrupted store never validates
        meta.write_text(key.to_json())
        return engine

    def load_or_build(self, graph: str, key: EngineKey, build: Callable[[], bytes]) -> bytes:
        """The cached engine for ``key``, or ``build()`` stored under it."""
        found = self.lookup(graph, key)
        if found is not None:
            log.info("using cached TensorRT engine %s", found)
            return found.read_bytes()
        data = build()
        log.info("stored TensorRT engine %s", self.store(graph, key, data))
        return data
