"""--precision auto: the choice from the device and the CPU's flags, and the per-graph selection rule."""

from __future__ import annotations

import logging

import pytest

from engines.base import LivePuppetError
from export import precision as P
from export.precision import (
    CpuFeatures,
    GraphTiming,
    plan_precision,
    read_cpu_features,
    select_reduced_graphs,
)

XEON = CpuFeatures("Intel(R) Xeon(R) Processor", frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}))
EPYC = CpuFeatures("AMD EPYC 7B13", frozenset({"avx2", "fma"}))
ZEN4 = CpuFeatures("AMD EPYC 9B14", frozenset({"avx2", "avx512f", "avx512_bf16"}))


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse2 avx2 amx_bf16 amx_tile\n\n"
                    "processor\t: 1\nmodel name\t: Other\nflags\t\t: fpu\n")  # fmt: skip
    cpu = read_cpu_features(info)
    assert cpu.model == "Test CPU 9000"
    assert cpu.bf16_units == ("amx_bf16",)
    assert read_cpu_features(tmp_path / "missing").bf16_units == ()


@pytest.mark.parametrize("cpu", [XEON, ZEN4])
def test_auto_picks_bf16_on_cpus_with_bf16_units(cpu):
    plan = plan_precision("auto", "cpu", cpu)
    assert plan.precision == "bf16"
    assert plan.graphs == P.CPU_BF16_GRAPHS
    assert cpu.bf16_units[0] in plan.reason


def test_auto_stays_fp32_on_avx2_only_and_says_why():
    plan = plan_precision("auto", "cpu", EPYC)
    assert (plan.precision, plan.graphs) == ("fp32", ())
    assert "AMD EPYC 7B13" in plan.reason and "no bf16 units" in plan.reason


def test_auto_on_cuda_is_fp16_on_the_four_networks():
    plan = plan_precision("auto", "cuda", EPYC)
    assert plan.precision == "fp16" and set(plan.graphs) == set(P.REDUCED_GRAPHS)


def test_explicit_requests(caplog):
    assert plan_precision("fp32", "cpu", XEON).precision == "fp32"
    with pytest.raises(LivePuppetError, match="GPU"):
        plan_precision("fp16", "cpu", XEON)
    with pytest.raises(LivePuppetError, match="unknown precision"):
        plan_precision("int8", "cpu", XEON)
    with caplog.at_level(logging.WARNING):
        assert plan_precision("bf16", "cpu", EPYC).precision == "bf16"  # asked for: done, with a warning
    assert "emulated" in caplog.text


def test_resolve_runtime_uses_the_plan(monkeypatch):
    from export.networks import resolve_runtime

    monkeypatch.setattr(P, "read_cpu_features", lambda: EPYC)
    choice = resolve_runtime("torch", "cpu", "auto")
    assert (choice.precision, choice.reduced) == ("fp32", ())
    assert "no bf16 units" in choice.reason
    monkeypatch.setattr(P, "read_cpu_features", lambda: XEON)
    choice = resolve_runtime("torch", "cpu", "auto")
    assert (choice.precision, choice.reduced) == ("bf16", P.CPU_BF16_GRAPHS)


def test_selection_keeps_fp32_where_bf16_is_slower_or_below_the_bar():
    timings = {
        "generator": GraphTiming(5000, 1500),
        "warping": GraphTiming(2000, 800),
        "motion": GraphTiming(90, 95),  # slower in bf16
    }
    # PSNR of a set: each graph costs some dB; motion would cost too much, but it is never tried (slower).
    cost = {"generator": 2.0, "warping": 1.0, "motion": 20.0, "appearance": 8.0}
    seen = []

    def frame_psnr(graphs):
        seen.append(graphs)
        return 40.0 - sum(cost[g] for g in graphs)

    selection = select_reduced_graphs(timings, frame_psnr, bar_db=35.0)
    assert selection.graphs == ("warping", "generator")  # in REDUCED_GRAPHS order
    assert seen[0] == ("generator",)  # the largest saving is tried first
    assert ("generator", "warping", "appearance") in seen  # F (untimed) tried last, on PSNR alone
    assert "not faster" in selection.verdicts["motion"]
    assert "29.0 dB" in selection.verdicts["appearance"]
    assert "reduced" in selection.verdicts["generator"]


def test_selection_is_cumulative():
    """A graph fine alone is refused when the set so far plus it falls below the bar."""
    timings = {"generator": GraphTiming(10, 1), "warping": GraphTiming(10, 5)}
    selection = select_reduced_graphs(timings, lambda graphs: 36.0 if len(graphs) == 1 else 34.0,
                                      candidates=("warping", "generator"))  # fmt: skip
    assert selection.graphs == ("generator",)
    assert "34.0 dB" in selection.verdicts["warping"]
