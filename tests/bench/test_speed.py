from bench.speed import run, timing


def test_timing_summary():
    figures = timing([0.01, 0.02, 0.03])
    assert figures["frames"] == 3
    assert abs(figures["mean_ms"] - 20.0) < 1e-9 and abs(figures["fps"] - 50.0) < 1e-9


def test_speed_benchmark_runs_small():
    report = run("warp", size=128, frames=4, driving=None)
    for name in ("render", "track_and_render"):
        assert report[name]["frames"] == 4
        assert report[name]["fps"] > 0
