"""``RUN/metrics.jsonl`` on ``--resume``: a torn last line (a kill during the append) is dropped,
any other bad line is a one-line :class:`InputError` naming the file."""

from __future__ import annotations

import json

import pytest
import torch

from acgpn.errors import InputError
from acgpn.train.monitor import METRICS_FILE, MetricsLog


def write_steps(run_dir, steps):
    log = MetricsLog(run_dir, None, tensorboard=False)
    for step in steps:
        log.add({"l1": torch.tensor(float(step))})
        log.write(step, {"epoch": 0})
    log.close()


def test_resume_drops_a_torn_last_line_and_later_steps(tmp_path):
    write_steps(tmp_path, [1, 2, 3])
    path = tmp_path / METRICS_FILE
    with path.open("a") as f:
        f.write('{"step": 4, "epoch": 0, "l1')  # killed mid-write
    log = MetricsLog(tmp_path, resume_step=2, tensorboard=False)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2]
    log.add({"l1": torch.tensor(0.5)})
    log.write(3, {"epoch": 1})
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 3]  # clean appends

    with path.open("a") as f:
        f.write('{"step": 4, "ep')
    MetricsLog(tmp_path, resume_step=10, tensorboard=False)  # a torn line even when every step is kept
    assert path.read_text().endswith('"l1": 0.5}\n') and len(path.read_text().splitlines()) == 3


@pytest.mark.parametrize("bad", ['{"step": 2, "l1', "[1, 2]", '{"epoch": 0}'])
def test_resume_refuses_a_corrupt_line_before_the_last(tmp_path, bad):
    write_steps(tmp_path, [1])
    path = tmp_path / METRICS_FILE
    path.write_text(path.read_text() + bad + "\n" + '{"step": 3, "l1": 1.0}\n')
    before = path.read_text()
    with pytest.raises(InputError) as info:
        MetricsLog(tmp_path, resume_step=5, tensorboard=False)
    assert METRICS_FILE in str(info.value) and "line 2" in str(info.value) and "\n" not in str(info.value)
    assert path.read_text() == before  # nothing rewritten
