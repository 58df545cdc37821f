"""`rbee-hive models adopt` as a user runs it: output, errors, JSON, and the catalog's lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rbee.catalog import ModelEntry, edit_catalog
from rbee.catalog.errors import CatalogLockError
from rbee.workflows.adopt import adopt_models
from rbee.workflows.progress import Progress
from tests.adopt.conftest import Machine, safetensors_bytes, tree_state

COMMIT = "ab" * 20


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("no-such-dir", "error: no-such-dir: no such file or folder (a SOURCE is hf, ollama, "),
        ("notes.txt", "notes.txt: neither a .gguf nor a .safetensors file, nor a folder"),
        ("lmstudio", "error: no LM Studio models folder on this machine: looked at "),
    ],
)
def test_bad_input_is_one_line_exit_1_and_changes_nothing(
    machine: Machine, source: str, message: str
) -> None:
    machine.ollama.add("kept", "latest", machine.gguf(name="Kept"))
    (machine.root / "notes.txt").write_text("not a model\n")
    before = tree_state(machine.home, machine.root)
    result = machine.hive("models", "adopt", "ollama", source)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_state(machine.home, machine.root) == before


def test_problems_are_warnings_on_stderr_and_the_rest_is_adopted(machine: Machine) -> None:
    gone = machine.gguf(name="Gone")
    machine.ollama.add("gone", "latest", gone)
    machine.ollama.add("kept", "latest", machine.gguf(name="Kept"))
    blob = next(p for p in machine.ollama.blobs_written if p.read_bytes() == gone)
    blob.unlink()
    result = machine.hive("models", "adopt", "ollama")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert "which is missing; not adopted" in warnings[0]
    assert result.stdout.startswith("✅ Adopted kept (gguf, 0.0 GB): Ollama: kept:latest\n")
    assert result.stdout.splitlines()[-1] == (
        "Adopted 1 model(s) into .test-models/catalog.json; 1 problem(s), see above"
    )


def test_json_and_quiet(machine: Machine) -> None:
    machine.hf.add("acme/g-GGUF", {"g-q4_k_m.gguf": machine.gguf(name="G")}, commit=COMMIT)
    dry = machine.hive("models", "adopt", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    document = json.loads(dry.stdout)
    assert document["dry_run"] is True
    assert [m["id"] for m in document["adopted"]] == ["g-q4_k_m"]
    assert document["adopted"][0]["source"]["repo"] == "acme/g-GGUF"
    assert document["problems"] == []
    assert document["already"] == []
    quiet = machine.hive("models", "adopt", "-q")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    again = json.loads(machine.hive("models", "adopt", "--json").stdout)
    assert again["adopted"] == []
    assert [(a["id"], a["reason"]) for a in again["already"]] == [
        ("g-q4_k_m", "already in the catalog as g-q4_k_m")
    ]


def test_progress_lines_name_the_files_hashed(machine: Machine) -> None:
    folder = machine.root / "models" / "st-model"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(safetensors_bytes())
    result = machine.hive("models", "adopt", "models")
    assert result.returncode == 0, result.stderr
    assert "st-model/model.safetensors" in result.stderr  # one line per file hashed
    assert machine.entries()["st-model"]["path"] == "models/st-model"


class LockProbe(Progress):
    """While a file is hashed: is the catalog's lock free? And register one model meanwhile."""

    def __init__(self, catalog: Path, sneak: ModelEntry) -> None:
        self.catalog = catalog
        self.sneak = sneak
        self.lock_was_free: list[bool] = []

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        try:
            with edit_catalog(self.catalog, create_pool_id="p", lock_timeout=0.2) as catalog:
                if catalog.find_model(self.sneak.id) is None:
                    catalog.add_model(self.sneak)
            self.lock_was_free.append(True)
        except CatalogLockError:
            self.lock_was_free.append(False)


def test_files_are_hashed_outside_the_lock_and_the_catalog_is_read_again_under_it(
    machine: Machine,
) -> None:
    """Another process may edit the catalog while we hash; what it registered meanwhile is
    reported as already there, not adopted twice."""
    one = machine.root / "models" / "one"
    two = machine.root / "models" / "two"
    for folder in (one, two):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(safetensors_bytes(len(folder.name)))
    sneak = ModelEntry(id="sneaked", name="S", architecture="llama", path="models/two")
    probe = LockProbe(machine.catalog, sneak)
    report = adopt_models(
        str(machine.catalog),
        str(machine.root),
        [str(machine.root / "models")],
        progress=probe,
        pool_id="p",
        environ=machine.env,
        workers=1,
    )
    assert probe.lock_was_free
    assert all(probe.lock_was_free)
    assert [m.id for m in report.adopted] == ["one"]
    assert [(a.model_id, a.path) for a in report.already] == [("sneaked", str(two))]
    assert sorted(machine.entries()) == ["one", "sneaked"]


def test_verify_and_scan_agree_with_what_adopt_recorded(machine: Machine) -> None:
    """The record and the absolute paths are read back by the pool's other commands."""
    from tests.adopt.conftest import point_lmstudio

    machine.hf.add("acme/h-GGUF", {"h-q4_k_m.gguf": machine.gguf(name="H")}, commit=COMMIT)
    machine.ollama.add("i", "latest", machine.gguf(name="I"), projector=machine.projector())
    point_lmstudio(machine)
    machine.lmstudio.add("pub", "J-GGUF", {"j-q8_0.gguf": machine.gguf(name="J", file_type=7)})
    adopted = machine.hive("models", "adopt", "-q")
    assert adopted.returncode == 0, adopted.stderr
    assert sorted(machine.entries()) == ["h-q4_k_m", "i", "j-q8_0"]
    verify = machine.hive("models", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Verified 3 model(s): 3 ok, 0 failed" in verify.stdout
    scan = machine.hive("models", "scan", "--json")
    assert json.loads(scan.stdout)["changed"] == []


def test_when_the_store_removes_adopted_files_verify_and_scan_say_so(machine: Machine) -> None:
    """The spec's absolute paths: files another tool owns may go; rbee reports, never writes."""
    from tests.adopt.conftest import sha256

    model = machine.gguf(name="L")
    projector = machine.projector()
    machine.ollama.add("llava", "7b", model, projector=projector)
    assert machine.hive("models", "adopt", "-q").returncode == 0
    (machine.ollama.root / "blobs" / f"sha256-{sha256(projector)}").unlink()
    verify = machine.hive("models", "verify")
    assert verify.returncode == 1
    assert "missing" in verify.stdout
    assert f"sha256-{sha256(projector)}" in verify.stdout
    (machine.ollama.root / "blobs" / f"sha256-{sha256(model)}").unlink()
    scan = machine.hive("models", "scan", "--json")
    assert json.loads(scan.stdout)["changed"] == ["llava-7b"]
    assert machine.entries()["llava-7b"]["downloaded"] is False


class Notes(Progress):
    """What adopt said it was doing (which sources it scanned, what it hashed)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def note(self, text: str) -> None:
        self.seen.append(text)

    def begin(self, task: str, total_bytes: int, total_files: int) -> None:
        self.seen.append(task)


def test_a_broken_catalog_fails_before_any_store_is_scanned(machine: Machine) -> None:
    """The catalog is read (and validated) first: a broken one is the usual one-line error,
    before a single store is scanned or file hashed."""
    machine.ollama.add("kept", "latest", machine.gguf(name="Kept"))
    machine.catalog.parent.mkdir(parents=True, exist_ok=True)
    machine.catalog.write_text('{"version": "1.1", "pool_id": "p", "models": [{"id": ')
    before = tree_state(machine.home, machine.root)
    notes = Notes()
    from rbee.catalog.errors import CatalogError

    with pytest.raises(CatalogError):
        adopt_models(str(machine.catalog), str(machine.root), ["ollama"], progress=notes)
    assert notes.seen == []
    result = machine.hive("models", "adopt", "ollama")
    assert (result.returncode, result.stdout) == (1, "")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "looking for models" not in result.stderr
    assert tree_state(machine.home, machine.root) == before


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("/dev/null", "/dev/null: not a regular file: neither a .gguf nor a .safetensors file"),
        ("/etc/passwd", "/etc/passwd: neither a .gguf nor a .safetensors file, nor a folder"),
        ("/proc/self", "in /proc, the kernel's folder, not a model folder: not read"),
        ("/sys", "/sys: in /sys, the kernel's folder, not a model folder: not read"),
        ("/dev", "/dev: in /dev, the kernel's folder, not a model folder: not read"),
    ],
)
def test_a_source_that_is_not_a_folder_model_file_or_store_is_an_error(
    machine: Machine, source: str, message: str
) -> None:
    before = tree_state(machine.home, machine.root)
    result = machine.hive("models", "adopt", source)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert tree_state(machine.home, machine.root) == before
    assert not machine.catalog.exists()


def test_symlinked_folders_are_not_followed_but_symlinked_files_are(machine: Machine) -> None:
    """A folder source is walked without following symlinked folders (`/proc/self/root` is
    `/`; a link back up loops); a symlinked model file is read."""
    elsewhere = machine.root.parent / "elsewhere"
    (elsewhere / "linked-model").mkdir(parents=True)
    (elsewhere / "linked-model" / "linked.gguf").write_bytes(machine.gguf(name="Linked"))
    folder = machine.root / "drop"
    (folder / "real").mkdir(parents=True)
    (folder / "real" / "real.gguf").write_bytes(machine.gguf(name="Real"))
    (folder / "files").mkdir()
    (folder / "files" / "file-link.gguf").symlink_to(elsewhere / "linked-model" / "linked.gguf")
    (folder / "dir-link").symlink_to(elsewhere / "linked-model")
    (folder / "up").symlink_to(machine.root.parent)  # would walk the whole test tree
    report = adopt_models(str(machine.catalog), str(machine.root), [str(folder)], pool_id="p")
    assert sorted(m.id for m in report.adopted) == ["file-link", "real"]
    assert report.problems == []
