"""rbee.hardware on recorded real outputs of nvidia-smi, rocm-smi, amd-smi and sysctl
(tests/hardware/samples/README.md says where each came from), and `rbee-hive pool info` with a
fake `nvidia-smi` on PATH: a real executable printing a recorded sample."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rbee import hardware
from rbee.hardware import MIB, ToolOutputError

SAMPLES = Path(__file__).parent / "samples"
RBEE_HIVE = str(Path(sys.executable).parent / "rbee-hive")
GIB = 1024 * MIB


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_every_sample_is_documented() -> None:
    readme = (SAMPLES / "README.md").read_text()
    for path in SAMPLES.iterdir():
        if path.name != "README.md":
            assert f"`{path.name}`" in readme, path.name


def test_nvidia_discrete_gpus_add_up_their_free_memory() -> None:
    gpus = hardware.parse_nvidia_smi(sample("nvidia-smi-4xa800.csv"))
    assert [gpu.index for gpu in gpus] == [0, 1, 2, 3]
    assert {gpu.name for gpu in gpus} == {"NVIDIA A800-SXM4-80GB"}
    assert all(gpu.total_bytes == 81920 * MIB and gpu.free_bytes == 81176 * MIB for gpu in gpus)
    assert not any(gpu.unified for gpu in gpus)
    assert hardware.gpu_budget(gpus) == 4 * 81176 * MIB


def test_nvidia_free_memory_is_what_is_left_with_a_model_loaded() -> None:
    (gpu,) = hardware.parse_nvidia_smi(sample("nvidia-smi-rtx4070.csv"))
    assert (gpu.name, gpu.total_bytes, gpu.free_bytes) == (
        "NVIDIA GeForce RTX 4070",
        12282 * MIB,
        631 * MIB,
    )


def test_nvidia_header_names_the_columns() -> None:
    (gpu,) = hardware.parse_nvidia_smi(sample("nvidia-smi-rtx5070ti.csv"))
    assert (gpu.total_bytes, gpu.free_bytes) == (16303 * MIB, 14109 * MIB)


def test_nvidia_unified_memory_na_falls_back_to_system_memory() -> None:
    (gpu,) = hardware.parse_nvidia_smi(
        sample("nvidia-smi-gb10.csv"), ram_total=128 * GIB, ram_available=100 * GIB
    )
    assert gpu.name == "NVIDIA GB10"
    assert gpu.unified
    assert (gpu.total_bytes, gpu.free_bytes) == (128 * GIB, 100 * GIB)


def test_nvidia_without_header_uses_the_query_order() -> None:
    (gpu,) = hardware.parse_nvidia_smi("0, NVIDIA GeForce RTX 3090, 24576, 23000\n")
    assert (gpu.index, gpu.total_bytes, gpu.free_bytes) == (0, 24576 * MIB, 23000 * MIB)


def test_nvidia_error_text_is_not_taken_for_a_gpu() -> None:
    with pytest.raises(ToolOutputError):
        hardware.parse_nvidia_smi(sample("nvidia-smi-no-driver.txt"))


def test_rocm_smi_free_is_total_minus_used() -> None:
    (gpu,) = hardware.parse_rocm_smi(sample("rocm-smi-rx7900xt.json"))
    assert gpu.name == "Radeon RX 7900 XT"
    assert gpu.vendor == "amd"
    assert gpu.total_bytes == 21458059264
    assert gpu.free_bytes == 21458059264 - 27856896


def test_amd_smi_memory_in_mb_units() -> None:
    gpus = hardware.parse_amd_smi(sample("amd-smi-mi300x.json"))
    assert [gpu.index for gpu in gpus] == [0, 1]
    assert gpus[0].total_bytes == 196592 * MIB
    assert gpus[0].free_bytes == (196592 - 17153) * MIB


def test_amd_smi_warning_before_the_json_is_skipped() -> None:
    gpus = hardware.parse_amd_smi("WARNING: not in render group\n" + sample("amd-smi-mi300x.json"))
    assert len(gpus) == 2


def test_apple_default_budget_is_the_metal_working_set() -> None:
    values = hardware.parse_sysctl(sample("sysctl-m1max-default.txt"))
    assert values["hw.memsize"] == "34359738368"
    gpu, budget, source = hardware.apple_gpu(values, 32 * GIB, None)
    assert gpu.unified
    assert gpu.name == "Apple M1 Max"
    assert source == "metal-default"
    # llama.cpp logs recommendedMaxWorkingSetSize = 21845.34 MB on a 32 GB M1 Max.
    assert budget is not None
    assert round(budget / MIB, 2) == 21845.33


@pytest.mark.parametrize(
    ("ram_gib", "logged_mib"), [(16, 10922.67), (32, 21845.34), (96, 73728.00)]
)
def test_metal_default_matches_what_llama_cpp_logged(ram_gib: int, logged_mib: float) -> None:
    assert abs(hardware.metal_default_budget(ram_gib * GIB) / MIB - logged_mib) < 0.02


def test_apple_wired_limit_wins_when_set() -> None:
    values = hardware.parse_sysctl(sample("sysctl-wired-limit-set.txt"))
    _, budget, source = hardware.apple_gpu(values, 32 * GIB, None)
    assert (budget, source) == (26000 * MIB, "iogpu.wired_limit_mb")


def test_apple_unknown_wired_limit_means_the_default() -> None:
    values = hardware.parse_sysctl(sample("sysctl-unknown-oid.txt"))
    assert values == {}
    _, budget, source = hardware.apple_gpu(values, 16 * GIB, None)
    assert (budget, source) == (16 * GIB * 2 // 3, "metal-default")


def test_meminfo() -> None:
    total, available = hardware.parse_meminfo(
        "MemTotal:       24684348 kB\nMemFree:         1000000 kB\nMemAvailable:   23000000 kB\n"
    )
    assert (total, available) == (24684348 * 1024, 23000000 * 1024)


# -- real tools on PATH -------------------------------------------------------------------------


def fake_tool(directory: Path, name: str, sample_name: str, exit_code: int = 0) -> None:
    """An executable `name` printing a recorded sample on stdout (nvidia-smi prints its
    driver error there too), then exiting with `exit_code`."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(f"#!/bin/sh\ncat '{SAMPLES / sample_name}'\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def pool_info_json(tmp_path: Path, bin_dir: Path | None) -> tuple[dict[str, object], str]:
    path = os.environ.get("PATH", "")
    env = {**os.environ, "PATH": f"{bin_dir}:{path}" if bin_dir else path}
    done = subprocess.run(
        [RBEE_HIVE, "--pool-id", "gpu-box", "pool", "info", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document, done.stderr.decode()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/meminfo")
def test_pool_info_runs_a_real_nvidia_smi_from_path(tmp_path: Path) -> None:
    fake_tool(tmp_path / "bin", "nvidia-smi", "nvidia-smi-4xa800.csv")
    document, _ = pool_info_json(tmp_path, tmp_path / "bin")
    assert document["pool_id"] == "gpu-box"
    assert document["backend"] == "cuda"
    assert document["budget_source"] == "nvidia-smi"
    assert document["gpu_budget_bytes"] == 4 * 81176 * MIB
    gpus = document["gpus"]
    assert isinstance(gpus, list)
    assert len(gpus) == 4
    assert gpus[0]["name"] == "NVIDIA A800-SXM4-80GB"
    assert document["tools"] == [{"tool": "nvidia-smi", "status": "ok", "detail": ""}]
    disk = document["disk"]
    assert isinstance(disk, dict)
    assert disk["free_bytes"] > 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/meminfo")
def test_unified_nvidia_part_reports_the_system_memory(tmp_path: Path) -> None:
    fake_tool(tmp_path / "bin", "nvidia-smi", "nvidia-smi-gb10.csv")
    document, _ = pool_info_json(tmp_path, tmp_path / "bin")
    gpus = document["gpus"]
    assert isinstance(gpus, list)
    assert len(gpus) == 1
    gpu = gpus[0]
    assert gpu["unified"] is True
    assert gpu["total_bytes"] == document["ram_total_bytes"]


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/meminfo")
def test_failing_nvidia_smi_is_reported_not_fatal(tmp_path: Path) -> None:
    fake_tool(tmp_path / "bin", "nvidia-smi", "nvidia-smi-no-driver.txt", exit_code=9)
    fake_tool(tmp_path / "bin", "rocm-smi", "rocm-smi-rx7900xt.json")
    document, _ = pool_info_json(tmp_path, tmp_path / "bin")
    tools = {tool["tool"]: tool for tool in document["tools"]}  # type: ignore[attr-defined]
    assert tools["nvidia-smi"]["status"] == "failed"
    assert tools["nvidia-smi"]["detail"].startswith("exit 9: NVIDIA-SMI has failed")
    assert document["backend"] == "rocm"
    assert document["budget_source"] == "rocm-smi"


def test_pool_info_text_names_missing_tools(tmp_path: Path) -> None:
    done = subprocess.run(
        [RBEE_HIVE, "pool", "info"],
        cwd=tmp_path,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    text = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    if sys.platform == "linux":
        assert "gpu       no GPU (CPU only)" in text
        assert "nvidia-smi missing: not found on PATH" in text
    assert "cores" in text


def test_a_hanging_tool_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    run = hardware.run_tool("nvidia-smi", hardware.NVIDIA_SMI_ARGS, timeout=0.3)
    assert run.report.status == "timeout"
    assert "0.3 s" in run.report.detail


def test_pool_report_is_plumbing_hidden_from_help(tmp_path: Path) -> None:
    done = subprocess.run(
        [RBEE_HIVE, "pool", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "info" in done.stdout
    assert "report" not in done.stdout
    report = subprocess.run(
        [RBEE_HIVE, "--pool-id", "p", "pool", "report", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    document = json.loads(report.stdout)
    assert document["models"] == []
    assert document["catalog_exists"] is False
    assert document["free_bytes"] > 0
    assert "hardware" not in document  # only with --hardware or --fit
