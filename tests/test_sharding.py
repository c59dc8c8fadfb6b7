"""Sharded inference: ``torchrun --nproc_per_node 2 -m acgpn infer`` (two CPU processes, gloo).

Tiny nets (widths 4) at 64x48; the union of the two ranks' outputs must be the single-process
run's outputs byte for byte, a resumed job runs only what is missing, and rank 0 writes one summary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from typer.testing import CliRunner

from acgpn.cli.main import app
from acgpn.distributed import SUMMARY_FILE
from test_pipeline import small_pipeline



def torchrun(args: list[str], nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "acgpn", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_two_ranks_give_the_single_process_outputs(tmp_path: Path, small_synth_dir: Path, one_thread: None) -> None:
    ckpt = small_pipeline().save_pretrained(tmp_path / "tiny")
    pairs = tmp_path / "pairs.txt"  # 5 pairs: an uneven split
    pairs.write_text("000000_0.jpg 000001_1.jpg\n000001_0.jpg 000000_1.jpg\n000002_0.jpg 000003_1.jpg\n"
                     "000003_0.jpg 000002_1.jpg\n000000_0.jpg 000000_1.jpg\n")  # fmt: skip
    base = ["infer", "--data", str(small_synth_dir), "--checkpoint", str(ckpt), "--pairs", str(pairs), "--device", "cpu", "--seed", "5"]
    res = CliRunner().invoke(app, base + ["--out", str(tmp_path / "single")])
    assert res.exit_code == 0, res.output
    single = {p.name: p.read_bytes() for p in (tmp_path / "single").glob("*.png")}
    assert len(single) == 5

    # An interrupted sharded job left two outputs; the resumed job (2 ranks) writes the other three.
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    kept = sorted(single)[:2]
    for name in kept:
        shutil.copy(tmp_path / "single" / name, sharded / name)
    res = torchrun(base + ["--out", str(sharded)])  # batch size 1 on both sides: batched convs round differently
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("3 written, 2 already done, 5 pairs") == 1, res.stdout  # one line, from rank 0

    union = {p.name: p.read_bytes() for p in sharded.glob("*.png")}
    assert union == single  # byte for byte
    summary = json.loads((sharded / SUMMARY_FILE).read_text())
    assert summary["world_size"] == 2 and summary["total"] == 5 and summary["written"] == 3 and summary["skipped"] == 2
    assert sorted(r["written"] for r in summary["ranks"]) == [1, 2]  # pending pairs split rank 0: 2, rank 1: 1
    assert not list(sharded.glob(".*.tmp*"))


@pytest.mark.slow
def test_bad_input_on_one_rank_stops_every_rank_before_writing(tmp_path: Path, small_synth_dir: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_synth_dir, data)
    (data / "test_img" / "000003_0.jpg").write_bytes(b"not a jpeg")  # the 4th pair: rank 1's share
    ckpt = small_pipeline().save_pretrained(tmp_path / "tiny")
    res = torchrun(["infer", "--data", str(data), "--checkpoint", str(ckpt), "--device", "cpu", "--out", str(tmp_path / "out")])
    assert res.returncode != 0
    assert "000003_0.jpg" in res.stderr and "rank 1 failed" in res.stderr, res.stderr
    assert not list((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else True
