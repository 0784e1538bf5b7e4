import os

from engines.openmp import WAIT_POLICY, prefer_passive_waiting


def test_passive_waiting_is_asked_for_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    prefer_passive_waiting()
    assert os.environ["OMP_WAIT_POLICY"] == WAIT_POLICY == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    prefer_passive_waiting()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"  # the user's choice is kept
