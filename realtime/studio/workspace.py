"""The studio's one work folder and what the page may hand the server.

Layout under ``root``::

    uploads/    the web framework's upload cache (GRADIO_TEMP_DIR points here)
    examples/   the bundled portrait, written on first start
    outputs/    renders, stills, timelines and presets the page made
    models/     weights folders the page may pick from (or ``--models DIR``)

The page never names a server path: files arrive as uploads (checked here for size, type and place) and
weights folders are picked from the subfolders of ``models``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from engines.base import LivePuppetError
from realtime.commands.edit import save_image
from realtime.outputs import IMAGE_SUFFIXES

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac")
KINDS = {"image": IMAGE_SUFFIXES, "video": VIDEO_SUFFIXES, "audio": AUDIO_SUFFIXES}
EXAMPLE_PORTRAIT = "astronaut.png"


@dataclass(frozen=True, slots=True)
class StudioConfig:
    """How ``livepuppet studio`` runs (built by the command)."""

    workdir: Path
    models: Path | None = None  # weights folders to pick from; None: workdir/models
    host: str = "127.0.0.1"
    port: int = 7860
    open_browser: bool = True
    max_upload_mb: int = 200


class Workspace:
    def __init__(self, config: StudioConfig):
        self.root = Path(config.workdir).expanduser().resolve()
        self.uploads = self.root / "uploads"
        self.examples = self.root / "examples"
        self.outputs = self.root / "outputs"
        self.models = Path(config.models).expanduser().resolve() if config.models else self.root / "models"
        self.max_upload_bytes = config.max_upload_mb * 1024 * 1024
        self._counter = itertools.count(1)
        for folder in (self.uploads, self.examples, self.outputs, self.models):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LivePuppetError(f"cannot create the studio folder {folder}: {exc.strerror}") from exc

    # ---- files from the page --------------------------------------------------------------------------
    def accept(self, path: str | Path | None, kind: str, what: str) -> Path:
        """The uploaded file ``path`` if it is a ``kind`` file ("image", "video", "audio") inside this
        workspace and under the size limit; a one-line error otherwise. ``what`` names it in messages."""
        if not path:
            raise LivePuppetError(f"no {what}: upload one first")
        path = Path(path).resolve()
        if not any(path.is_relative_to(folder) for folder in (self.uploads, self.examples, self.outputs)):
            raise LivePuppetError(f"the {what} must be uploaded through the page")
        if not path.is_file():
            raise LivePuppetError(f"the {what} is gone from the upload folder; upload it again")
        if path.suffix.lower() not in KINDS[kind]:
            raise LivePuppetError(
                f"the {what} {path.name} is not {'an' if kind[0] in 'aeiou' else 'a'} {kind} file "
                f"({', '.join(KINDS[kind])})"
            )
        size = path.stat().st_size
        if size > self.max_upload_bytes:
            raise LivePuppetError(
                f"the {what} {path.name} is {size / 2**20:.0f} MB; the limit is "
                f"{self.max_upload_bytes / 2**20:.0f} MB"
            )
        return path

    def output(self, stem: str, suffix: str) -> Path:
        """A new file name under ``outputs`` (never an existing file)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        while True:
            path = self.outputs / f"{stem}-{stamp}-{next(self._counter)}{suffix}"
            if not path.exists():
                return path

    # ---- what the page may pick ---------------------------------------------------------------------
    def example_portrait(self) -> Path:
        """The bundled portrait (scikit-image's public-domain astronaut) as a file, written once."""
        path = self.examples / EXAMPLE_PORTRAIT
        if not path.is_file():
            from skimage import data

            save_image(path, data.astronaut())
        return path

    def model_folders(self) -> list[str]:
        """Names of the weights folders the page may choose (subfolders of ``models``)."""
        return sorted(p.name for p in self.models.iterdir() if p.is_dir() and not p.name.startswith("."))

    def model_folder(self, name: str | None) -> Path | None:
        """The weights folder ``name`` picked in the page (None when nothing is picked)."""
        if not name:
            return None
        if name not in self.model_folders():
            raise LivePuppetError(f"no weights folder {name!r} in {self.models}")
        return self.models / name
