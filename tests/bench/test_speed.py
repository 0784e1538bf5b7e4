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


def test_speed_benchmark_times_pose_reads_with_the_body():
    report = run("warp", size=128, frames=4, driving=None, body=True)
    assert report["pose_read"]["frames"] == 4 and report["pose_read"]["mean_ms"] > 0
    assert report["track_and_render_pose_thread"]["frames"] == 4  # the pose on its own thread, as live
    plain = run("warp", size=128, frames=2, driving=None)
    assert plain["pose_read"] is None and plain["track_and_render_pose_thread"] is None
