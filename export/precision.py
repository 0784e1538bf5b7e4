"""Which precision each graph runs in: ``--precision auto`` resolved from the device and the CPU's flags.

* CUDA: fp16 on F, M, W and G (41 dB against fp32 on the synthetic weights); the MLPs stay fp32.
* A CPU with bf16 units (``amx_bf16`` or ``avx512_bf16``): bf16 on the graphs in :data:`CPU_BF16_GRAPHS`,
  the set :func:`select_reduced_graphs` picked from per-graph measurements (``python -m bench.runtimes
  --select-bf16``): a graph is kept fp32 where bf16 is not faster, or where adding it takes the frame below
  :data:`PSNR_BAR_DB` against fp32.
* Any other CPU (AVX2 only): fp32, because bf16 would be emulated in software and run far slower.

:class:`PrecisionPlan` carries the choice and a one-line reason, logged when an engine starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engines.base import LivePuppetError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
# Graphs that may run at reduced precision; the MLPs always stay fp32, as in the official app.
REDUCED_GRAPHS = ("appearance", "motion", "warping", "generator")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
PSNR_BAR_DB = 35.0
# Chosen by select_reduced_graphs from bench.runtimes --select-bf16 on the synthetic weights (Xeon with
# AMX, 2 threads): G and W (its hourglass, mask and occlusion convolutions only, see export.reduced) in
# bf16 keep the frame at 36.5 dB (G x8, W x2.6 faster than fp32 in a quiet run); M (32.2 dB) and F
# (31.1 dB) in bf16 took it below the bar.
CPU_BF16_GRAPHS = ("warping", "generator")
CUDA_FP16_GRAPHS = REDUCED_GRAPHS


@dataclass(frozen=True, slots=True)
class CpuFeatures:
    """What matters about the CPU for choosing a precision."""

    model: str
    flags: frozenset[str]

    @property
    def bf16_units(self) -> tuple[str, ...]:
        """The bf16 arithmetic flags this CPU has (empty: bf16 is emulated)."""
        return tuple(flag for flag in BF16_FLAGS if flag in self.flags)


def read_cpu_features(path: Path = Path("/proc/cpuinfo")) -> CpuFeatures:
    """The first processor's model name and flags (an unreadable file gives no flags)."""
    model, flags = "unknown CPU", frozenset()
    try:
        with open(path) as file:
            for line in file:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key == "flags":
                    flags = frozenset(value.split())
                    break
    except OSError:
        pass
    return CpuFeatures(model, flags)


@dataclass(frozen=True, slots=True)
class PrecisionPlan:
    """``precision`` for the graphs in ``graphs``, fp32 for the others; ``reason`` says why, in one line."""

    precision: str  # fp32 | fp16 | bf16
    graphs: tuple[str, ...]
    reason: str


def plan_precision(requested: str, device: str, cpu: CpuFeatures | None = None) -> PrecisionPlan:
    """Resolve ``--precision`` for ``device`` ("cpu" or "cuda"; already resolved from auto)."""
    if requested not in PRECISIONS:
        raise LivePuppetError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    if device == "cuda":
        if requested in ("auto", "fp16"):
            return PrecisionPlan("fp16", CUDA_FP16_GRAPHS, "fp16 on CUDA (normalisations and MLPs in fp32)")
        if requested == "bf16":
            return PrecisionPlan("bf16", CUDA_FP16_GRAPHS, "bf16 on CUDA as asked")
        return PrecisionPlan("fp32", (), "fp32 as asked")
    cpu = cpu or read_cpu_features()
    units = cpu.bf16_units
    if requested == "fp16":
        raise LivePuppetError("fp16 is a GPU path; on the CPU use --precision bf16 (or auto)")
    if requested == "fp32":
        return PrecisionPlan("fp32", (), "fp32 as asked")
    if requested == "bf16":
        if not units:
            log.warning("%s has no bf16 units (amx_bf16 / avx512_bf16): bf16 is emulated, far slower than "
                        "fp32", cpu.model)  # fmt: skip
        return PrecisionPlan("bf16", CPU_BF16_GRAPHS, "bf16 as asked")
    if not units:
        return PrecisionPlan("fp32", (), f"fp32: {cpu.model} has no bf16 units (amx_bf16 / avx512_bf16), "
                                         "so bf16 would be emulated and slower")  # fmt: skip
    return PrecisionPlan("bf16", CPU_BF16_GRAPHS, f"bf16 on {', '.join(CPU_BF16_GRAPHS)}: {cpu.model} has "
                                                  f"{' and '.join(units)}")  # fmt: skip


# -- choosing the reduced graphs from measurements ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphTiming:
    """One graph's median time per call at fp32 and at the reduced precision (same inputs, interleaved)."""

    fp32_ms: float
    reduced_ms: float

    @property
    def saved_ms(self) -> float:
        return self.fp32_ms - self.reduced_ms


@dataclass(frozen=True, slots=True)
class Selection:
    graphs: tuple[str, ...]
    verdicts: dict[str, str]  # graph -> why it is in or out


def select_reduced_graphs(timings: Mapping[str, GraphTiming], frame_psnr: Callable[[tuple[str, ...]], float],
                          bar_db: float = PSNR_BAR_DB, candidates: Iterable[str] | None = None) -> Selection:  # fmt: skip
    """Greedy, largest saving first: a graph joins the reduced set when it is faster reduced and the frame
    with the set so far plus this graph stays at or above ``bar_db`` against fp32 (``frame_psnr(set)``).
    Graphs without a timing (run once per portrait, like F) are tried last, on PSNR alone."""
    names = list(candidates if candidates is not None else REDUCED_GRAPHS)
    timed = sorted((n for n in names if n in timings), key=lambda n: -timings[n].saved_ms)
    chosen: list[str] = []
    verdicts: dict[str, str] = {}
    for name in timed + [n for n in names if n not in timings]:
        timing = timings.get(name)
        if timing is not None and timing.saved_ms <= 0:
            verdicts[name] = f"fp32: reduced is not faster ({timing.reduced_ms:.0f} vs {timing.fp32_ms:.0f} ms)"
            continue
        value = frame_psnr((*chosen, name))
        if value < bar_db:
            verdicts[name] = f"fp32: the frame falls to {value:.1f} dB (< {bar_db:g})"
            continue
        chosen.append(name)
        speed = f"{timing.fp32_ms / timing.reduced_ms:.2f}x faster, " if timing else ""
        verdicts[name] = f"reduced: {speed}frame {value:.1f} dB"
    return Selection(tuple(n for n in names if n in chosen), verdicts)
