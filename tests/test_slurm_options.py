"""SLURM options, cluster profiles, packing and the sbatch scripts they give (submitit's own
generator); none of these needs a cluster."""

import re
from pathlib import Path

import pytest

from bench.cell import Cell
from bench.errors import UserError
from bench.executors.slurm.options import SlurmOptions, parse_sbatch, parse_time, sbatch_script, signal_delay_s
from bench.executors.slurm.packing import default_packing, estimate_cell_seconds, pack
from bench.executors.slurm.profiles import cluster_options
from bench.store import Store
from tests.conftest import run_cli


@pytest.mark.parametrize(
    "text, minutes",
    [("90", 90), (45, 45), ("30:00", 30), ("0:30", 1), ("1:30:00", 90), ("1:00:01", 61), ("2-00:00:00", 2880),
     ("1-2", 26 * 60), ("1-2:30", 26 * 60 + 30)],
)
def test_time_limits_in_slurm_formats_become_minutes(text, minutes):
    assert parse_time(text) == minutes


@pytest.mark.parametrize("text", ["soon", "0", "-5", "1:2:3:4", "", "1-2:3:4:5", "1h"])
def test_bad_time_limits_name_the_formats(text):
    with pytest.raises(UserError, match=r"\[D-\]H:MM:SS"):
        parse_time(text)


def test_sbatch_extras_take_flags_and_refuse_what_has_an_option_or_is_managed():
    assert parse_sbatch(["mail-type=FAIL", "--exclusive", "mail_user=me@lab"]) == {
        "mail-type": "FAIL", "exclusive": True, "mail-user": "me@lab"
    }
    with pytest.raises(UserError, match="use --partition instead"):
        parse_sbatch(["partition=gpu"])
    with pytest.raises(UserError, match="sets sbatch's --array itself"):
        parse_sbatch(["array=0-3"])
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_sbatch(["mail-type="])


def script_lines(options: SlurmOptions, tasks: int, time_min: int = 90) -> list[str]:
    params = options.sbatch_parameters(job_name="bench-abc", time_min=time_min, setup=["cd /snap"])
    return sbatch_script("/shared/sweeps/abc/jobs", params, tasks).splitlines()


def test_options_map_onto_submitits_sbatch_script():
    options = SlurmOptions.build(
        {"partition": "gpu", "account": "lab", "qos": "high", "gpus-per-node": 2, "cpus-per-task": 8, "mem": "32G",
         "constraint": "a100", "array-parallelism": 4, "sbatch": ["mail-type=FAIL", "exclusive"],
         "setup": ["module load cuda"]},
        where="",
    )
    lines = script_lines(options, tasks=12)
    for expected in (
        "#SBATCH --partition=gpu", "#SBATCH --account=lab", "#SBATCH --qos=high", "#SBATCH --gpus-per-node=2",
        "#SBATCH --cpus-per-task=8", "#SBATCH --mem=32G", "#SBATCH --constraint=a100", "#SBATCH --time=90",
        "#SBATCH --array=0-11%4", "#SBATCH --job-name=bench-abc", "#SBATCH --mail-type=FAIL", "#SBATCH --exclusive",
        "#SBATCH --signal=USR2@90", "#SBATCH --output=/shared/sweeps/abc/jobs/%A_%a_0_log.out",
    ):
        assert expected in lines
    assert not any(line.startswith("#SBATCH --error") for line in lines)  # one log per task
    setup = lines.index("# setup")
    assert lines[setup + 1 : setup + 3] == ["module load cuda", "cd /snap"]  # the profile's, then the snapshot's
    assert any(re.match(r"srun .* -u -m submitit\.core\._submit /shared/sweeps/abc/jobs$", line) for line in lines)


def test_unset_options_stay_out_and_one_task_is_no_array():
    lines = script_lines(SlurmOptions(), tasks=1, time_min=2)
    assert not any(line.startswith(("#SBATCH --partition", "#SBATCH --array", "#SBATCH --mem", "#SBATCH --gpus")) for line in lines)
    assert "#SBATCH --time=2" in lines and "#SBATCH --signal=USR2@40" in lines


def test_the_requeue_warning_leaves_room_in_short_limits_and_arrives_in_long_ones():
    assert signal_delay_s(1) == 40 and signal_delay_s(2) == 40  # SLURM checks limits every ~30 s
    assert signal_delay_s(4) == 60 and signal_delay_s(6) == 90 and signal_delay_s(600) == 90


def test_options_are_checked_with_their_source_named():
    with pytest.raises(UserError, match="--cpus-per-task 0: give a whole number ≥ 1"):
        SlurmOptions.build({"cpus-per-task": 0}, where="")
    with pytest.raises(UserError, match="--mem '16 gigs'"):
        SlurmOptions.build({"mem": "16 gigs"}, where="")
    with pytest.raises(UserError, match=r"--cluster x \(f\): unknown key 'partion'"):
        SlurmOptions.build({"partion": "gpu"}, where="--cluster x (f)")


@pytest.fixture
def clusters(tmp_path, monkeypatch):
    path = tmp_path / "clusters.toml"
    monkeypatch.setenv("BENCH_CLUSTERS", str(path))
    return path


def test_a_cluster_profile_fills_what_the_command_line_leaves_unset(clusters):
    clusters.write_text(
        '[gpu]\npartition = "gpu"\ngpus-per-node = 1\ntime = "4:00:00"\nmem = "32G"\n'
        'sbatch = { mail-type = "FAIL", exclusive = true }\nsetup = ["module load cuda"]\n'
    )
    profile = cluster_options("gpu")
    assert (profile.partition, profile.gpus_per_node, profile.time, profile.mem) == ("gpu", 1, 240, "32G")
    assert profile.sbatch == {"mail-type": "FAIL", "exclusive": True} and profile.setup == ["module load cuda"]
    merged = SlurmOptions.build({"time": "30", "sbatch": ["mail-type=END"]}, where="").over(profile)
    assert (merged.partition, merged.time) == ("gpu", 30)
    assert merged.sbatch == {"mail-type": "END", "exclusive": True}
    assert cluster_options(None) == SlurmOptions()  # no [default] profile: nothing


def test_the_default_profile_applies_without_cluster_and_unknown_names_are_errors(clusters):
    clusters.write_text('[default]\naccount = "lab"\n[gpu-a100]\npartition = "a100"\n')
    assert cluster_options(None).account == "lab"
    with pytest.raises(UserError, match="did you mean gpu-a100"):
        cluster_options("gpu-a10")
    clusters.write_text('[gpu]\npartition = gpu\n')
    with pytest.raises(UserError, match="not valid TOML"):
        cluster_options("gpu")


def test_slurm_mistakes_are_one_line_exit_2_before_any_planning(results, clusters):
    for argv, message in [
        (("--executor", "local", "--partition", "gpu"), "--partition applies to --executor slurm"),
        (("--executor", "inline", "--wait"), "--wait applies to --executor slurm"),
        (("--cluster", "nope"), "--cluster nope: no such profile"),
        (("--executor", "slurm", "--time", "soon"), "--time 'soon'"),
        (("--executor", "slurm", "--sbatch", "output=x.log"), "sets sbatch's --output itself"),
        (("--executor", "slurm", "--device", "tpu"), "use cpu, cuda, cuda:N or auto"),
    ]:
        status, out, err = run_cli("run", "--methods", "dn2", "--datasets", "digits", "--results", str(results), *argv)
        assert status == 2 and out == "", argv
        assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not results.exists()


def cells(n: int, method: str = "dn2") -> list[Cell]:
    return [Cell(method, "digits", i % 10, i // 10, "smoke") for i in range(n)]


def test_packing_fills_the_slots_then_amortises_job_starts_within_the_time_limit():
    assert default_packing(200, slots=2, cell_s=None, time_min=60).cells_per_job == 100
    assert default_packing(200, slots=1000, cell_s=None, time_min=60).cells_per_job == 1
    amortised = default_packing(200, slots=1000, cell_s=2.0, time_min=60)
    assert amortised.cells_per_job == 150 and "5 min of cells" in amortised.why  # 300 s / 2 s
    capped = default_packing(200, slots=1000, cell_s=2.0, time_min=4)
    assert capped.cells_per_job == 60 and "half the 4-min" in capped.why  # 120 s / 2 s
    assert default_packing(3, slots=1, cell_s=1.0, time_min=60).cells_per_job == 3


def test_pack_balances_task_sizes_and_keeps_each_split_in_one_task():
    chunks = pack(cells(23), 5)
    assert [len(c) for c in chunks] == [5, 5, 5, 4, 4]
    assert [cell for chunk in chunks for cell in chunk] == sorted(cells(23), key=lambda c: (c.normal_class, c.seed))
    # plan order is method-major; a split's methods share features, so they go together
    sweep = [Cell(m, "digits", c, 0, "smoke") for m in ("dn2", "pyod-knn", "pyod-pca") for c in range(4)]
    chunks = pack(sweep, 6)
    assert [[(cell.normal_class, cell.method) for cell in chunk] for chunk in chunks] == [
        [(0, "dn2"), (0, "pyod-knn"), (0, "pyod-pca"), (1, "dn2"), (1, "pyod-knn"), (1, "pyod-pca")],
        [(2, "dn2"), (2, "pyod-knn"), (2, "pyod-pca"), (3, "dn2"), (3, "pyod-knn"), (3, "pyod-pca")],
    ]


def test_cell_durations_are_estimated_from_earlier_successful_records(results):
    store = Store(results)
    assert estimate_cell_seconds(cells(4), store) is None
    for cell, seconds, status in zip(cells(4), (1.0, 2.0, 9.0, 50.0), ("ok", "ok", "ok", "failed")):
        metrics = {"metrics": {"auroc": 0.9, "aupr": 0.9, "fpr95": 0.1}} if status == "ok" else {}
        store.write({"cell": cell.to_dict(), "status": status, "timings": {"total_s": seconds}, **metrics})
    assert estimate_cell_seconds(cells(4), store) == 2.0  # the median of the successful ones
    assert estimate_cell_seconds(cells(4) + cells(1, "pyod-knn"), store) is None  # no history for pyod-knn


def test_without_slurm_commands_the_slurm_executor_says_where_to_run(results, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, squeue, scontrol or scancel here
    status, out, err = run_cli("run", "--executor", "slurm", "--methods", "dn2", "--datasets", "digits", "--results", str(results))
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "needs SLURM's sbatch, squeue, scontrol, scancel on PATH" in err and "login node" in err
    assert not results.exists()


def test_the_readmes_cluster_profiles_load_as_documented(clusters):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    clusters.write_text(re.search(r"### Cluster profiles.*?```toml\n(.*?)```", readme, flags=re.S).group(1))
    gpu = cluster_options("gpu")
    assert (gpu.partition, gpu.gpus_per_node, gpu.time, gpu.requeues) == ("gpu", 1, 240, 5)
    assert gpu.sbatch == {"mail-type": "FAIL", "exclude": "node17"} and gpu.setup == ["module load cuda/12.1"]
    assert (cluster_options(None).partition, cluster_options(None).time) == ("cpu", 120)
