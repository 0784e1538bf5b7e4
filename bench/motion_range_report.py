"""Scores of ``bench.motion_range``: per pose (accumulated frame by frame), per portrait, over all portraits;
and the printed table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.motion_range_poses import KINDS, Pose, fitted_follow, pose_matrix, transform_points
from engines.landmarks import RIGID, inter_ocular


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass
class PoseScores:
    """One pose of one portrait (or the neutral lead-in, ``pose`` None): follow and residual on its hold
    frames, the worst fold and outside change over all its frames."""

    pose: Pose | None
    folded: int | None  # None: the engine cannot report folds
    follow: list[float] = field(default_factory=list)
    truth_follow: list[float] = field(default_factory=list)  # the transformed portrait's own, re-detected
    driver_follow: list[float] = field(default_factory=list)  # what the driver read (the engine's input)
    residual: list[float] = field(default_factory=list)
    truth_residual: list[float] = field(default_factory=list)
    outside_change: int = 0
    outside_pixels: int = 0
    frames_without_face: int = 0  # hold frames where no face was found on the output

    def add_frame(self, change: tuple[int, int], folded: int | None) -> None:
        self.outside_change = max(self.outside_change, change[0])
        self.outside_pixels = max(self.outside_pixels, change[1])
        if self.folded is not None and folded is not None:
            self.folded = max(self.folded, folded)

    def add_hold(
        self,
        centre: np.ndarray,
        iod: float,
        reference: np.ndarray,
        truth: np.ndarray | None,
        output: np.ndarray | None,
        driver: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        """Landmarks (478, >=2) px, read in still-image mode: ``reference`` the portrait's, ``truth`` the
        transformed portrait's (None when lost), ``output`` the output's (None when lost); ``driver``: the
        driver's (neutral, current) reading of the transformed portrait, None when it lost the face.
        ``centre`` (2,) and ``iod`` px define the pose as built."""
        expected = transform_points(pose_matrix(self.pose, 1.0, centre, iod), reference)
        if driver is not None:
            self.driver_follow.append(fitted_follow(self.pose, *driver, centre, iod, RIGID))
        if truth is not None:
            self.truth_follow.append(fitted_follow(self.pose, reference, truth, centre, iod, RIGID))
            self.truth_residual.append(_residual(truth, expected))
        if output is None:
            self.frames_without_face += 1
            return
        self.follow.append(fitted_follow(self.pose, reference, output, centre, iod, RIGID))
        self.residual.append(_residual(output, truth if truth is not None else expected))

    def summary(self) -> dict:
        return {
            "follow": _mean(self.follow),
            "truth_follow": _mean(self.truth_follow),
            "driver_follow": _mean(self.driver_follow),
            "residual": _mean(self.residual),
            "truth_residual": _mean(self.truth_residual),
            "folded": self.folded,
            "outside_change": self.outside_change,
            "outside_pixels": self.outside_pixels,
            "frames_without_face": self.frames_without_face,
        }


def _residual(points: np.ndarray, target: np.ndarray) -> float:
    """Mean landmark distance over the target's inter-ocular distance."""
    distance = np.linalg.norm(points[:, :2] - target[:, :2], axis=1).mean()
    return float(distance / max(inter_ocular(target), 1e-6))


def portrait_summary(poses: dict[str, dict], neutral: dict, kinds: dict[str, str]) -> dict:
    """Per portrait: mean follow per kind of motion, the worst single pose, mean and largest residual, the
    most folded pixels and the largest outside change over the clip (lead-in included). A pose whose output
    face was never found follows 0."""
    summary: dict = {}
    follows = {name: 0.0 if p["follow"] is None else p["follow"] for name, p in poses.items()}
    for kind in KINDS:
        summary[f"follow_{kind}"] = _mean([value for name, value in follows.items() if kinds[name] == kind])
    worst = min(follows, key=follows.get) if follows else None
    summary["worst_follow"] = follows[worst] if worst else None
    summary["worst_pose"] = worst
    for key in ("truth_follow", "driver_follow"):
        summary[key] = _mean([p[key] for p in poses.values() if p[key] is not None])
    residuals = [p["residual"] for p in poses.values() if p["residual"] is not None]
    summary["residual"] = _mean(residuals)
    summary["residual_max"] = max(residuals) if residuals else None
    everything = [*poses.values(), neutral]
    folds = [p["folded"] for p in everything]
    summary["folded"] = None if any(f is None for f in folds) else max(folds)
    summary["outside_change"] = max(p["outside_change"] for p in everything)
    summary["outside_pixels"] = max(p["outside_pixels"] for p in everything)
    summary["frames_without_face"] = sum(p["frames_without_face"] for p in poses.values())
    return summary


MEAN_KEYS = ("face_width", *(f"follow_{kind}" for kind in KINDS), "worst_follow", "residual", "residual_max",
             "folded", "outside_change", "outside_pixels", "truth_follow", "driver_follow")  # fmt: skip
WORST_OF = {"worst_follow": min, "residual_max": max, "folded": max, "outside_change": max, "outside_pixels": max,
            "truth_follow": min, "driver_follow": min, **{f"follow_{kind}": min for kind in KINDS}}  # fmt: skip


def overall(portraits: dict[str, dict]) -> tuple[dict, dict]:
    """(mean over portraits, worst over portraits) of each summary figure; None where no portrait has it."""
    means, worsts = {}, {}
    for key in MEAN_KEYS:
        values = [p["summary"][key] for p in portraits.values() if p["summary"].get(key) is not None]
        means[key] = _mean(values)
        if key in WORST_OF:
            worsts[key] = WORST_OF[key](values) if values else None
    return means, worsts


COLUMNS = (
    ("face w", "face_width", "{:.2f}"), ("follow x", "follow_x", "{:.2f}"), ("follow y", "follow_y", "{:.2f}"),
    ("scale", "follow_scale", "{:.2f}"), ("roll", "follow_roll", "{:.2f}"), ("worst", "worst_follow", "{:.2f}"),
    ("worst pose", "worst_pose", "{}"), ("residual", "residual", "{:.3f}"), ("resid max", "residual_max", "{:.3f}"),
    ("folded", "folded", "{:.0f}"), ("outside", "outside_change", "{:.0f}"), ("out px", "outside_pixels", "{:.0f}"),
)  # fmt: skip


def format_table(report: dict) -> str:
    """Per portrait, then the mean and the worst over portraits. Follow: 1.0 = the whole motion; residual in
    IOD; folded: face pixels; outside: largest change (0..255) and pixels changed > threshold."""
    rows = [["portrait"] + [title for title, _, _ in COLUMNS]]
    named = [(name.rsplit("/", 1)[-1], p["summary"]) for name, p in report["portraits"].items()]
    named += [("mean", report["mean"]), ("worst", report["worst"])]
    for name, summary in named:
        row = [name]
        for _, key, fmt in COLUMNS:
            value = summary.get(key)
            if value is None:
                row.append("n/a" if key == "folded" else "-")
            else:
                row.append(fmt.format(value))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    lines.insert(len(lines) - 2, lines[1])
    ceiling = [
        f"{label} mean {_format(report['mean'].get(key))}, lowest {_format(report['worst'].get(key))}"
        for label, key in (("read on the transformed portrait itself", "truth_follow"),
                           ("read by the driver (the engine's input)", "driver_follow"))
    ]  # fmt: skip
    lines.append("follow " + "; ".join(ceiling))
    return "\n".join(lines)


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
