"""The pool's hardware as a worker needs it: OS, CPU, RAM, GPUs and their memory, disk.

GPU memory comes from the vendors' own tools, each run with a short timeout; a tool that is
missing, fails or times out is reported (in `PoolInfo.tools`), never fatal:

- NVIDIA: `nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv`. Unified-
  memory parts (DGX Spark's GB10, Jetson) print `[N/A]` for the memory: the GPU then uses the
  system's memory, so its total and free are the system's RAM total and available.
- AMD: `rocm-smi --showproductname --showmeminfo vram --json`, else `amd-smi metric
  --mem-usage --json`.
- Apple Silicon (macOS on arm64): the GPU shares the RAM; Metal lets it wire at most
  `sysctl iogpu.wired_limit_mb` MiB when that is set (non-zero), else macOS's default working
  set, `recommendedMaxWorkingSetSize`: 2/3 of the RAM on Macs with up to 36 GiB, 3/4 above
  (the value llama.cpp logs at start-up, see docs/fleet.md).
- none of them: CPU only.

The parsers take the tools' text, so tests feed them recorded real outputs
(tests/hardware/samples/). Nothing here prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

TOOL_TIMEOUT = 5.0
"""Seconds a vendor tool may take (nvidia-smi can hang on a wedged driver)."""
MIB = 1024 * 1024
NA_VALUES = frozenset({"[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "", "n/a"})

NVIDIA_SMI_ARGS = ("--query-gpu=index,name,memory.total,memory.free", "--format=csv")
ROCM_SMI_ARGS = ("--showproductname", "--showmeminfo", "vram", "--json")
AMD_SMI_ARGS = ("metric", "--mem-usage", "--json")
SYSCTL_KEYS = ("hw.memsize", "hw.ncpu", "machdep.cpu.brand_string", "iogpu.wired_limit_mb")


@dataclass
class GPU:
    """One GPU. `total_bytes`/`free_bytes` are None when nothing could tell them."""

    index: int
    name: str
    vendor: str
    total_bytes: int | None
    free_bytes: int | None
    unified: bool = False
    """The GPU uses the system's memory (Apple Silicon, GB10): its figures are the RAM's."""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "vendor": self.vendor,
            "total_bytes": self.total_bytes,
            "free_bytes": self.free_bytes,
            "unified": self.unified,
            "source": self.source,
        }


@dataclass
class ToolReport:
    """How running one tool went: `status` is ok, missing, failed or timeout."""

    tool: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"tool": self.tool, "status": self.status, "detail": self.detail}


@dataclass
class ToolRun:
    """A tool's output, or why there is none (`report.status != "ok"`)."""

    report: ToolReport
    stdout: str = ""


@dataclass
class DiskInfo:
    path: str
    """The folder measured: the models folder, or its nearest existing parent."""
    total_bytes: int
    free_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "total_bytes": self.total_bytes, "free_bytes": self.free_bytes}


@dataclass
class PoolInfo:
    version: str
    pool_id: str
    os: str
    machine: str
    cpu: str | None
    cpu_cores: int
    ram_total_bytes: int | None
    ram_available_bytes: int | None
    gpus: list[GPU] = field(default_factory=list)
    gpu_budget_bytes: int | None = None
    """What a model may use on the GPUs: their free memory added up (llama.cpp splits layers
    across GPUs), or the unified-memory budget; None for CPU only."""
    budget_source: str = "none"
    """How the budget was found: nvidia-smi, rocm-smi, amd-smi, metal-default,
    iogpu.wired_limit_mb, or none (CPU only)."""
    tools: list[ToolReport] = field(default_factory=list)
    disk: DiskInfo | None = None

    @property
    def backend(self) -> str:
        """The llama.cpp backend this pool would use: cuda, rocm, metal or cpu."""
        vendors = {gpu.vendor for gpu in self.gpus}
        if "nvidia" in vendors:
            return "cuda"
        if "amd" in vendors:
            return "rocm"
        if "apple" in vendors:
            return "metal"
        return "cpu"

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> PoolInfo:
        """The inverse of `to_dict` (a pool's `pool info --json`, read by llorch). Raises
        KeyError or TypeError when a required key is missing or has the wrong shape."""
        return cls(
            version=document["version"],
            pool_id=document["pool_id"],
            os=document["os"],
            machine=document["machine"],
            cpu=document.get("cpu"),
            cpu_cores=document["cpu_cores"],
            ram_total_bytes=document.get("ram_total_bytes"),
            ram_available_bytes=document.get("ram_available_bytes"),
            gpus=[GPU(**gpu) for gpu in document.get("gpus", [])],
            gpu_budget_bytes=document.get("gpu_budget_bytes"),
            budget_source=document.get("budget_source", "none"),
            tools=[ToolReport(**tool) for tool in document.get("tools", [])],
            disk=DiskInfo(**document["disk"]) if document.get("disk") else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "pool_id": self.pool_id,
            "os": self.os,
            "machine": self.machine,
            "cpu": self.cpu,
            "cpu_cores": self.cpu_cores,
            "ram_total_bytes": self.ram_total_bytes,
            "ram_available_bytes": self.ram_available_bytes,
            "backend": self.backend,
            "gpus": [gpu.to_dict() for gpu in self.gpus],
            "gpu_budget_bytes": self.gpu_budget_bytes,
            "budget_source": self.budget_source,
            "tools": [tool.to_dict() for tool in self.tools],
            "disk": None if self.disk is None else self.disk.to_dict(),
        }


class ToolOutputError(ValueError):
    """A tool printed something its parser cannot read; the message says what."""


# -- running tools ------------------------------------------------------------------------------


def run_tool(name: str, args: tuple[str, ...], timeout: float = TOOL_TIMEOUT) -> ToolRun:
    """Run `name ARGS` from PATH with a timeout; a missing, failing or slow tool is reported."""
    path = shutil.which(name)
    if path is None:
        return ToolRun(ToolReport(name, "missing", "not found on PATH"))
    try:
        done = subprocess.run(
            [path, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ToolRun(ToolReport(name, "timeout", f"no answer within {timeout:g} s"))
    except OSError as exc:
        return ToolRun(ToolReport(name, "failed", f"cannot run: {exc.strerror or exc}"))
    stdout = done.stdout.decode("utf-8", errors="replace")
    if done.returncode != 0:
        said = _first_line(done.stderr.decode("utf-8", errors="replace")) or _first_line(stdout)
        return ToolRun(
            ToolReport(name, "failed", f"exit {done.returncode}" + (f": {said}" if said else "")),
            stdout,
        )
    return ToolRun(ToolReport(name, "ok"), stdout)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


# -- parsers (each takes the tool's text) -------------------------------------------------------


def _memory_value(text: str, default_unit: str = "MiB") -> int | None:
    """`24576 MiB`, `24576`, `[N/A]` -> bytes or None."""
    value = text.strip()
    if value in NA_VALUES:
        return None
    number, _, unit = value.partition(" ")
    unit = unit.strip() or default_unit
    scale = {"MiB": MIB, "MB": MIB, "GiB": 1024 * MIB, "KiB": 1024, "B": 1}.get(unit)
    if scale is None:
        raise ToolOutputError(f"unknown memory unit {unit!r} in {value!r}")
    try:
        return int(float(number) * scale)
    except ValueError:
        raise ToolOutputError(f"not a memory figure: {value!r}") from None


def parse_nvidia_smi(
    text: str, ram_total: int | None = None, ram_available: int | None = None
) -> list[GPU]:
    """`nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv`.

    The header line (`index, name, memory.total [MiB], memory.free [MiB]`) says which column is
    which, so other queries that include name, memory.total and memory.free parse too; without
    a header (`noheader`) the columns are taken in this module's query order. A GPU whose memory
    is `[N/A]` (a unified-memory part) gets the system's RAM total and available.
    """
    columns = ["index", "name", "memory.total", "memory.free"]
    gpus: list[GPU] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [part.strip() for part in line.split(",")]
        names = [field.split(" [")[0] for field in fields]
        if "memory.total" in names:
            columns = names
            continue
        if "name" not in columns or "memory.total" not in columns:
            raise ToolOutputError(f"the query has no name and memory.total columns: {columns}")
        if len(fields) != len(columns):
            # A GPU name with a comma in it: the name takes what is left over.
            extra = len(fields) - len(columns)
            at = columns.index("name")
            if extra < 0:
                raise ToolOutputError(f"expected {len(columns)} fields, got {line!r}")
            fields[at : at + extra + 1] = [", ".join(fields[at : at + extra + 1])]
        row = dict(zip(columns, fields, strict=True))
        index_text = row.get("index", str(len(gpus)))
        try:
            index = int(index_text)
        except ValueError:
            raise ToolOutputError(f"not a GPU index: {index_text!r} in {line!r}") from None
        total = _memory_value(row["memory.total"])
        free = _memory_value(row.get("memory.free", "[N/A]"))
        unified = total is None
        if unified:
            total, free = ram_total, ram_available
        gpus.append(GPU(index, row["name"], "nvidia", total, free, unified, "nvidia-smi"))
    return gpus


def _json_document(text: str, tool: str) -> Any:
    # amd-smi may print a WARNING line before its JSON.
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ToolOutputError(f"{tool} printed no JSON")
    try:
        return json.loads(text[start:])
    except ValueError as exc:
        raise ToolOutputError(f"{tool} printed JSON that does not parse: {exc}") from None


def parse_rocm_smi(text: str) -> list[GPU]:
    """`rocm-smi --showproductname --showmeminfo vram --json`: one `cardN` object per GPU with
    "VRAM Total Memory (B)" and "VRAM Total Used Memory (B)"."""
    document = _json_document(text, "rocm-smi")
    if not isinstance(document, dict):
        raise ToolOutputError("rocm-smi's JSON is not an object")
    gpus = []
    for key, card in document.items():
        if not (key.startswith("card") and isinstance(card, dict)):
            continue  # "system" and other sections
        try:
            index = int(key.removeprefix("card"))
        except ValueError:
            continue
        total = _bytes_field(card.get("VRAM Total Memory (B)"))
        used = _bytes_field(card.get("VRAM Total Used Memory (B)"))
        free = total - used if total is not None and used is not None else None
        name = str(card.get("Card Series") or card.get("Card series") or card.get("Card SKU") or "")
        gpus.append(GPU(index, name or f"AMD GPU {index}", "amd", total, free, False, "rocm-smi"))
    return sorted(gpus, key=lambda gpu: gpu.index)


def _bytes_field(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip() in NA_VALUES):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise ToolOutputError(f"not a byte count: {value!r}") from None


def parse_amd_smi(text: str) -> list[GPU]:
    """`amd-smi metric --mem-usage --json`: a list (or `{"gpu_data": [...]}`) of GPUs, each
    with `mem_usage.total_vram` / `used_vram` / `free_vram` as `{"value": N, "unit": "MB"}`."""
    document = _json_document(text, "amd-smi")
    if isinstance(document, dict):
        document = document.get("gpu_data", [])
    if not isinstance(document, list):
        raise ToolOutputError("amd-smi's JSON is not a list of GPUs")
    gpus = []
    for position, item in enumerate(document):
        if not isinstance(item, dict):
            continue
        usage = item.get("mem_usage")
        usage = usage if isinstance(usage, dict) else {}
        total = _amd_value(usage.get("total_vram"))
        free = _amd_value(usage.get("free_vram"))
        used = _amd_value(usage.get("used_vram"))
        if free is None and total is not None and used is not None:
            free = total - used
        index = item.get("gpu", position)
        index = index if isinstance(index, int) else position
        gpus.append(GPU(index, f"AMD GPU {index}", "amd", total, free, False, "amd-smi"))
    return gpus


def _amd_value(value: object) -> int | None:
    if isinstance(value, dict):
        unit = str(value.get("unit") or "MB")
        number = value.get("value")
        if number is None:
            return None
        return _memory_value(f"{number} {unit}")
    if value is None:
        return None
    return _memory_value(str(value), "MB")


def parse_meminfo(text: str) -> tuple[int | None, int | None]:
    """Linux's /proc/meminfo: (MemTotal, MemAvailable) in bytes."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if key in ("MemTotal", "MemAvailable", "MemFree") and parts:
            try:
                found[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
            except ValueError:
                continue
    return found.get("MemTotal"), found.get("MemAvailable", found.get("MemFree"))


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl NAME...` lines (`name: value`); unknown names are simply absent."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("sysctl:"):
            continue  # "sysctl: unknown oid 'iogpu.wired_limit_mb'" (on stderr, usually)
        key, sep, value = line.partition(":")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values


def metal_default_budget(ram_bytes: int) -> int:
    """macOS's default GPU working set (`recommendedMaxWorkingSetSize`) for this much RAM."""
    if ram_bytes <= 36 * 1024 * MIB:
        return ram_bytes * 2 // 3
    return ram_bytes * 3 // 4


def apple_gpu(
    sysctl: dict[str, str], ram_total: int | None, ram_available: int | None
) -> tuple[GPU, int | None, str]:
    """The Apple GPU, its Metal budget and where the budget came from."""
    name = sysctl.get("machdep.cpu.brand_string") or "Apple GPU"
    gpu = GPU(0, name, "apple", ram_total, ram_available, True, "sysctl")
    limit_text = sysctl.get("iogpu.wired_limit_mb", "")
    # `sysctl` prints "old -> new" when it sets a value; the value in force is the last.
    limit_text = limit_text.rpartition("->")[2].strip()
    limit = int(limit_text) if limit_text.isdigit() else 0
    if limit > 0:
        return gpu, limit * MIB, "iogpu.wired_limit_mb"
    if ram_total is None:
        return gpu, None, "none"
    return gpu, metal_default_budget(ram_total), "metal-default"


def gpu_budget(gpus: list[GPU]) -> int | None:
    """The GPUs' free memory added up (their total where free is unknown)."""
    figures = [gpu.free_bytes if gpu.free_bytes is not None else gpu.total_bytes for gpu in gpus]
    known = [figure for figure in figures if figure is not None]
    return sum(known) if known else None


# -- gathering ----------------------------------------------------------------------------------


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read(1 << 20)
    except OSError:
        return ""


def _linux_cpu_name() -> str | None:
    for line in _read_text("/proc/cpuinfo").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return None


def detect_gpus(
    ram_total: int | None, ram_available: int | None, timeout: float = TOOL_TIMEOUT
) -> tuple[list[GPU], int | None, str, list[ToolReport]]:
    """(GPUs, budget, budget source, tool reports) on Linux and other non-macOS systems."""
    reports: list[ToolReport] = []
    run = run_tool("nvidia-smi", NVIDIA_SMI_ARGS, timeout)
    reports.append(run.report)
    if run.report.status == "ok":
        try:
            gpus = parse_nvidia_smi(run.stdout, ram_total, ram_available)
        except ToolOutputError as exc:
            run.report.status, run.report.detail = "failed", str(exc)
        else:
            if gpus:
                return gpus, gpu_budget(gpus), "nvidia-smi", reports
    for tool, args, parser in (
        ("rocm-smi", ROCM_SMI_ARGS, parse_rocm_smi),
        ("amd-smi", AMD_SMI_ARGS, parse_amd_smi),
    ):
        run = run_tool(tool, args, timeout)
        reports.append(run.report)
        if run.report.status != "ok":
            continue
        try:
            gpus = parser(run.stdout)
        except ToolOutputError as exc:
            run.report.status, run.report.detail = "failed", str(exc)
            continue
        if gpus:
            return gpus, gpu_budget(gpus), tool, reports
    return [], None, "none", reports


def pool_info(
    pool_id: str, models_dir: str | None = None, timeout: float = TOOL_TIMEOUT
) -> PoolInfo:
    """Gather this machine's hardware; `models_dir` is where the disk figures are taken."""
    from rbee import __version__

    uname = os.uname()
    info = PoolInfo(
        version=__version__,
        pool_id=pool_id,
        os=f"{uname.sysname} {uname.release}",
        machine=uname.machine,
        cpu=None,
        cpu_cores=os.cpu_count() or 1,
        ram_total_bytes=None,
        ram_available_bytes=None,
    )
    if uname.sysname == "Darwin":
        run = run_tool("sysctl", SYSCTL_KEYS, timeout)
        # sysctl exits non-zero when one name is unknown (iogpu.* before macOS 14) but still
        # prints the others.
        values = parse_sysctl(run.stdout)
        if run.report.status == "failed" and values:
            run.report.status = "ok"
        info.tools.append(run.report)
        info.cpu = values.get("machdep.cpu.brand_string")
        memsize = values.get("hw.memsize", "")
        info.ram_total_bytes = int(memsize) if memsize.isdigit() else None
        if uname.machine == "arm64":
            gpu, budget, source = apple_gpu(values, info.ram_total_bytes, None)
            info.gpus, info.gpu_budget_bytes, info.budget_source = [gpu], budget, source
    else:
        info.ram_total_bytes, info.ram_available_bytes = parse_meminfo(_read_text("/proc/meminfo"))
        info.cpu = _linux_cpu_name()
        gpus, budget, source, reports = detect_gpus(
            info.ram_total_bytes, info.ram_available_bytes, timeout
        )
        info.gpus, info.gpu_budget_bytes, info.budget_source = gpus, budget, source
        info.tools.extend(reports)
    if models_dir is not None:
        from rbee.workflows.disk import existing_parent

        where = existing_parent(models_dir)
        try:
            usage = shutil.disk_usage(where)
        except OSError:
            info.disk = None
        else:
            info.disk = DiskInfo(where, usage.total, usage.free)
    return info
