"""perf/ab_microbench, the before/after tool for microbenchmarks: it must pair runs of both
binaries, report every row that ran in both, and fail with a reason otherwise. Uses the
policy benchmark's BM_DependentLoad/1 row, which needs no corpus and runs in milliseconds."""
import os
import re
import subprocess

HERE = os.path.dirname(__file__)
AB = os.path.join(HERE, "../../perf/ab_microbench")
POLICY_BENCHMARK = os.environ.get("SWITCHBOARD_POLICY_BENCHMARK_BIN",
                                  os.path.join(HERE, "../../build/perf/policy_benchmark"))


def ab(*args):
    return subprocess.run(["/usr/bin/python3", AB, *args], capture_output=True, text=True, timeout=120)


def test_reports_each_row_with_paired_ratios():
    proc = ab(POLICY_BENCHMARK, POLICY_BENCHMARK, "--filter", "BM_DependentLoad/1$", "--pairs", "3",
              "--min-time", "0.01", "--cpu", "-1")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("BM_")]
    assert len(rows) == 1, proc.stdout
    name, base_ns, new_ns, ratio, ratio_range = rows[0].split()
    assert name == "BM_DependentLoad/1"
    assert float(base_ns) > 0 and float(new_ns) > 0
    low, high = (float(x) for x in ratio_range.split("-"))
    assert low <= float(ratio) <= high
    assert re.search(r"\(3 pairs, alternating order, not pinned;", proc.stdout), proc.stdout


def test_fails_with_a_reason_when_no_row_matches():
    proc = ab(POLICY_BENCHMARK, POLICY_BENCHMARK, "--filter", "NoSuchRow", "--pairs", "1", "--cpu", "-1")
    assert proc.returncode != 0
    assert "no row matching 'NoSuchRow'" in proc.stderr


def test_fails_with_a_reason_when_a_binary_cannot_run():
    proc = ab("/nonexistent/benchmark", POLICY_BENCHMARK, "--filter", "BM_DependentLoad/1$", "--pairs", "1",
              "--cpu", "-1")
    assert proc.returncode != 0
    assert "/nonexistent/benchmark" in proc.stderr
