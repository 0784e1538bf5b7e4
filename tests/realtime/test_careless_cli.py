"""What a careless user does to `livepuppet`, each case a subprocess of the real CLI (bench/careless.py
holds the cases and the judge; `python -m bench.careless` prints one line per case).

Every case asserts its exit code; for a refusal exactly one line on stderr saying what is wrong; never a
Python traceback nor a MediaPipe/TFLite log line; the sha256 of every input and every older output
unchanged (unless the case is a successful overwrite); and no temporary file left behind. A full disk is
simulated with the writers' injectable ENOSPC fault (LIVEPUPPET_FAULT_ENOSPC_AFTER).
"""

from __future__ import annotations

import pytest

from bench.careless import CASES, OWN_CASES, needs_met, run_case
from bench.careless_media import make_media

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def media(data_dir, tmp_path_factory):
    return make_media(data_dir.parent, tmp_path_factory.mktemp("careless_media"))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_careless_case(case, media, tmp_path):
    if not needs_met(case, media):
        pytest.skip("needs the dev_media VFR clip")
    outcome = run_case(case, media, tmp_path)
    assert outcome.problems == [], outcome.line()


def test_ten_cases_of_our_own():
    assert len(OWN_CASES) >= 10 and len({case.name for case in CASES}) == len(CASES)
