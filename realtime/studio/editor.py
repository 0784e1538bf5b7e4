"""Edit: ``livepuppet edit`` on sliders. The portrait is loaded and prepared once per (portrait, engine,
size); each slider move renders one frame from the prepared state, so the preview follows the drag.
Settings are saved as a still, as a timeline keyframe (``--timeline`` JSON) or as a live preset."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from engines.base import LivePuppetError, create_engine
from engines.expressions import ExpressionParams
from engines.timeline import Timeline
from realtime.commands.edit import neutral_motion, render_edit
from realtime.studio.commands import cli_args
from realtime.studio.workspace import Workspace

TIMELINE_FILE = "timeline.json"
PRESETS_FILE = "presets.json"
PREVIEW_SIZE = 512


class PreparedPortrait:
    """One portrait prepared by one engine, rendered with expression edits (thread-safe)."""

    def __init__(self, portrait: Path, engine: str, size: int, weights: Path | None = None):
        from realtime.commands.arguments import engine_options
        from realtime.offline import load_portrait

        argv = ["edit", "--source", portrait, "--out", "edit.png", "--engine", engine, "--size", size]
        args = cli_args(*argv, *(["--weights", weights] if weights else []))
        image, face = load_portrait(args.source, args.size)
        self.engine = create_engine(args.engine, engine_options(args, args.size))
        self._lock = threading.Lock()
        try:
            self.state = self.engine.prepare(image, face)
        except BaseException:
            self.engine.close()
            raise
        self.neutral = neutral_motion(self.state)

    def render(self, params: ExpressionParams) -> np.ndarray:
        with self._lock:
            return render_edit(self.engine, self.state, params, self.neutral).copy()

    def close(self) -> None:
        with self._lock:
            self.engine.close()


class Editor:
    """The prepared portraits of the last few uploads (the oldest are closed) and the saved settings."""

    def __init__(self, workspace: Workspace, keep: int = 2):
        self.workspace = workspace
        self.keep = keep
        self._prepared: OrderedDict[tuple, PreparedPortrait] = OrderedDict()
        self._lock = threading.Lock()

    def prepared(self, portrait: str | None, engine: str = "warp", weights: str | None = None,
                 size: int = PREVIEW_SIZE) -> PreparedPortrait:  # fmt: skip
        path = self.workspace.accept(portrait, "image", "portrait")
        key = (path, path.stat().st_mtime_ns, engine, weights, size)
        with self._lock:
            found = self._prepared.get(key)
            if found is not None:
                self._prepared.move_to_end(key)
                return found
        prepared = PreparedPortrait(path, engine, size, self.workspace.model_folder(weights))
        with self._lock:
            self._prepared[key] = prepared
            while len(self._prepared) > self.keep:
                self._prepared.popitem(last=False)[1].close()
        return prepared

    @staticmethod
    def params(values: dict[str, float]) -> ExpressionParams:
        """Slider values checked as ``livepuppet edit`` checks its options."""
        import argparse

        from realtime.commands.edit import params_from_args

        full = {name: float(values.get(name, 0.0) or 0.0) for name in ExpressionParams.names()}
        return params_from_args(argparse.Namespace(**full))

    def save_still(self, frame: np.ndarray) -> Path:
        from realtime.commands.edit import save_image

        path = self.workspace.output("still", ".png")
        save_image(path, frame)
        return path

    # ---- saved settings --------------------------------------------------------------------------------
    def add_keyframe(self, t: float, params: ExpressionParams) -> tuple[Path, str]:
        """Add ``params`` at ``t`` seconds to the studio's timeline file; returns the file and its text."""
        if not np.isfinite(t) or t < 0:
            raise LivePuppetError(f"a keyframe time must be 0 or more seconds, got {t:g}")
        path = self.workspace.outputs / TIMELINE_FILE
        data = _read_json(path, {"keyframes": []})
        keyframes = [k for k in data.get("keyframes", []) if k.get("t") != t]
        keyframes.append({"t": float(t), **params.as_dict()})
        data["keyframes"] = sorted(keyframes, key=lambda k: k["t"])
        Timeline.from_dict(data, name=TIMELINE_FILE)  # the file stays loadable by --timeline
        text = json.dumps(data, indent=2)
        path.write_text(text)
        return path, text

    def save_preset(self, name: str, params: ExpressionParams) -> dict[str, ExpressionParams]:
        name = (name or "").strip()
        if not name or len(name) > 40:
            raise LivePuppetError("give the preset a name (up to 40 characters)")
        path = self.workspace.outputs / PRESETS_FILE
        data = _read_json(path, {})
        data[name] = {k: v for k, v in params.as_dict().items() if v}
        path.write_text(json.dumps(data, indent=2))
        return self.presets()

    def presets(self) -> dict[str, ExpressionParams]:
        """The presets saved from the Edit tab (name -> params); unknown names in the file are an error."""
        data = _read_json(self.workspace.outputs / PRESETS_FILE, {})
        try:
            return {name: ExpressionParams(**values) for name, values in data.items()}
        except TypeError as exc:
            raise LivePuppetError(f"{PRESETS_FILE}: {exc}") from exc


def _read_json(path: Path, default):
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LivePuppetError(f"{path.name} is not valid JSON ({exc}); remove or fix it") from exc
