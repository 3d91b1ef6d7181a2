"""Commands that write a folder or file never destroy what is already there (issue 20, part 2)."""

from __future__ import annotations

import pytest

from jaxrl_hybrid.cli.main import main


def _snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "case",
    ["existing_file", "existing_run_folder", "no_runs", "empty_out", "out_under_a_file"],
)
def test_report_refuses_and_touches_nothing(tmp_path, capsys, case):
    user_file = tmp_path / "notes.txt"
    user_file.write_text("mine")
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "summary.json", "metrics.jsonl"):
        (run / name).write_text("{}\n")
    before = _snapshot(tmp_path)
    argv, expect = {
        "existing_file": (["report", str(run), "--out", str(user_file)], "exists and is not a folder"),
        "existing_run_folder": (["report", str(run), "--out", str(run)], "not empty; pass --overwrite"),
        "no_runs": (["report", "--out", str(tmp_path / "rep")], "no run folders given"),
        "empty_out": (["report", str(run), "--out", ""], "expected a folder path"),
        "out_under_a_file": (["report", str(run), "--out", str(user_file / "sub")], "is a file"),
    }[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "run"]
