"""The jobs file (JSON and CSV) and the worker placement arithmetic; no Ray needed."""

import json
from pathlib import Path

import pytest

from engines.base import LivePuppetError
from realtime.batch.jobs import BadJob, BatchJob, load_jobs
from realtime.batch.runner import ClusterOptions, actor_options, worker_count


def _write_json(folder: Path, rows) -> Path:
    path = folder / "jobs.json"
    path.write_text(json.dumps(rows))
    return path


def test_json_jobs_take_the_render_options(tmp_path):
    path = _write_json(tmp_path, [
        {"source": "me.jpg", "driving": "/abs/talk.mp4", "out": "out/a.mp4", "engine": "warp", "max_frames": 60,
         "keep_work": True, "smooth": 0.5, "segment_frames": 12},
        {"source": "me.jpg", "driving": "talk.mp4", "out": "b.mp4", "mode": "diffusion", "steps": "4",
         "keep_work": False},
    ])  # fmt: skip
    first, second = load_jobs(path)
    assert isinstance(first, BatchJob) and first.number == 1 and first.segment_frames == 12
    args = first.args
    assert args.source == tmp_path / "me.jpg" and args.driving == Path("/abs/talk.mp4")
    assert args.out == tmp_path / "out" / "a.mp4"
    assert (args.engine, args.max_frames, args.keep_work, args.smooth, args.mode) == (
        "warp",
        60,
        True,
        0.5,
        "engine",
    )
    assert args.progress is False  # the batch shows its own
    assert second.args.mode == "diffusion" and second.args.steps == 4 and second.args.keep_work is False
    assert second.segment_frames is None


def test_csv_jobs_read_like_json(tmp_path):
    (tmp_path / "jobs.csv").write_text(
        "source,driving,out,max_frames,keep_work,engine\n"
        "me.jpg,talk.mp4,a.mp4,60,true,warp\n"
        "me.jpg,talk.mp4,b.mp4,,no,\n"
    )
    first, second = load_jobs(tmp_path / "jobs.csv")
    assert (
        first.args.max_frames == 60 and first.args.keep_work is True and first.args.out == tmp_path / "a.mp4"
    )
    assert second.args.max_frames is None and second.args.keep_work is False and second.args.engine == "warp"


def test_a_bad_job_fails_alone_with_one_line(tmp_path):
    good = {"source": "me.jpg", "driving": "talk.mp4", "out": "a.mp4"}
    path = _write_json(tmp_path, [
        {**good, "frobnicate": 1}, {**good, "max_frames": "many"}, {"source": "me.jpg", "driving": "talk.mp4"},
        "not an object", {"source": "me.jpg", "audio": "speech.wav", "out": "c.mp4"},
        {**good, "keep_work": "perhaps"}, {**good, "segment_frames": 0}, good,
    ])  # fmt: skip
    jobs = load_jobs(path)
    assert [type(job) for job in jobs] == [BadJob] * 7 + [BatchJob]
    reasons = [job.reason for job in jobs[:7]]
    for reason, word in zip(
        reasons, ["frobnicate", "many", "--out", "object", "audio-only", "keep_work", "segment_frames"]
    ):
        assert word in reason and "\n" not in reason


def test_an_unreadable_jobs_file_is_one_line(tmp_path):
    (tmp_path / "jobs.json").write_text("[{")
    with pytest.raises(LivePuppetError, match="not valid JSON"):
        load_jobs(tmp_path / "jobs.json")
    with pytest.raises(LivePuppetError, match="cannot read"):
        load_jobs(tmp_path / "missing.json")
    with pytest.raises(LivePuppetError, match="no jobs"):
        load_jobs(_write_json(tmp_path, []))


def test_worker_count_and_placement():
    assert worker_count({"CPU": 2.0}, ClusterOptions()) == 2
    assert worker_count({"CPU": 8.0}, ClusterOptions(cpus_per_worker=2)) == 4
    assert worker_count({"CPU": 8.0}, ClusterOptions(workers=3)) == 3
    # GPU workers: as many as the GPUs hold (fractions share a GPU), never more than the cores allow.
    assert worker_count({"CPU": 16.0, "GPU": 2.0}, ClusterOptions(gpus_per_worker=0.5)) == 4
    assert worker_count({"CPU": 3.0, "GPU": 8.0}, ClusterOptions(gpus_per_worker=1)) == 3
    with pytest.raises(LivePuppetError, match="no free GPU"):
        worker_count({"CPU": 2.0}, ClusterOptions(gpus_per_worker=1))
    placement = actor_options(ClusterOptions(cpus_per_worker=4, gpus_per_worker=1))
    assert placement["num_gpus"] == 1 and placement["num_cpus"] == 4 and placement["max_restarts"] == 0


def test_a_free_worker_continues_its_job_then_takes_a_job_nobody_is_on(tmp_path):
    from realtime.batch.runner import _Item, next_position

    rows = [{"source": "me.jpg", "driving": "talk.mp4", "out": f"{i}.mp4"} for i in range(3)]
    rows.append({"source": "me.jpg", "driving": "talk.mp4", "out": "d.mp4", "mode": "diffusion"})
    warp1, warp2, warp3, diffusion = load_jobs(_write_json(tmp_path, rows))
    from realtime.batch.worker import renderer_key

    warp = renderer_key(warp1)
    queue = [_Item("render", warp1, 1), _Item("render", warp2, 0), _Item("render", warp2, 1),
             _Item("render", warp3, 0), _Item("render", diffusion, 0)]  # fmt: skip
    # It rendered job 2's segment 0: segment 1 of job 2 follows, though other items come first.
    assert next_position(queue, warp, (2, 0), set()) == 2
    # After a plan (segment -1) its job's first segment follows.
    assert next_position(queue, warp, (2, -1), set()) == 1
    # A fresh worker avoids the jobs other workers are on (1 and 2), taking job 3.
    assert next_position(queue, warp, None, {1, 2}) == 3
    # All jobs taken: the first item; a worker holding the diffusion models takes diffusion work first.
    assert next_position(queue, warp, None, {1, 2, 3}) == 0
    assert next_position(queue, renderer_key(diffusion), (1, 0), set()) == 4
