"""The build record as one contract: strict load, atomic save, the queries the stages use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wheelyard.config.vocab import AcceleratorKind, Platform, PythonMode
from wheelyard.errors import RecordError
from wheelyard.record import (
    RECORD_NAME,
    BuildRecord,
    Failure,
    JobRecord,
    JobSpec,
    JobStatus,
    Verification,
    VerificationStatus,
    WheelInfo,
)


def _job(job_id: str, *, package: str = "demo", wheels: tuple[str, ...] = ()) -> JobRecord:
    return JobRecord(
        job=JobSpec(
            id=job_id,
            platform=Platform.LINUX_X86_64,
            os="linux",
            arch="x86_64",
            variant=job_id.rsplit("-", 1)[-1],
            kind=AcceleratorKind.CPU,
            python_mode=PythonMode.PER_INTERPRETER,
            pythons=("cp312",),
        ),
        status=JobStatus.SUCCEEDED,
        package=package,
        wheels=tuple(
            WheelInfo(
                name=name,
                path=f"cpu/{name}",
                size=3,
                sha256="a" * 64,
                python="cp312",
                platform_tags=("manylinux_2_28_x86_64",),
            )
            for name in wheels
        ),
    )


def _record(*jobs: JobRecord) -> BuildRecord:
    return BuildRecord(
        package="demo",
        version="1.0",
        channel="release",
        source="tests",
        started_at="2026-12-05T00:00:00+00:00",
        jobs=jobs,
    )


def test_a_saved_record_loads_back_equal_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    failed = _job("linux-x86_64-cpu").model_copy(
        update={"status": JobStatus.FAILED, "failure": Failure(message="boom", step="build")}
    )
    record = _record(failed, _job("linux-x86_64-cu130", wheels=("demo-1.0-cp312-x.whl",)))
    path = record.save(tmp_path)
    assert path == tmp_path / RECORD_NAME
    assert sorted(p.name for p in tmp_path.iterdir()) == [RECORD_NAME]
    again = BuildRecord.load(tmp_path)
    assert again == record
    assert not again.ok
    assert json.loads(path.read_text())["schema"] == "wheelyard.build-record/1"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(schema="wheelyard.build-record/0"), "schema"),
        (lambda d: d["jobs"][0].update(status="exploded"), "jobs.0.status"),
        (lambda d: d["jobs"][0]["job"].pop("variant"), "jobs.0.job.variant"),
        (lambda d: d["jobs"][0].update(surprise=1), "jobs.0.surprise"),
        (lambda d: d["jobs"][0]["wheels"][0].update(size="big"), "jobs.0.wheels.0.size"),
    ],
)
def test_a_record_that_breaks_the_contract_is_refused_with_where(
    tmp_path: Path, change: object, expected: str
) -> None:
    _record(_job("linux-x86_64-cpu", wheels=("demo-1.0-cp312-x.whl",))).save(tmp_path)
    data = json.loads((tmp_path / RECORD_NAME).read_text())
    change(data)  # type: ignore[operator]
    (tmp_path / RECORD_NAME).write_text(json.dumps(data))
    with pytest.raises(RecordError) as error:
        BuildRecord.load(tmp_path)
    assert expected in error.value.message


def test_no_record_and_an_unreadable_record_are_record_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no build record"):
        BuildRecord.load(tmp_path)
    (tmp_path / RECORD_NAME).write_text("{not json")
    with pytest.raises(RecordError, match="cannot read"):
        BuildRecord.load(tmp_path)


def test_verdicts_are_set_per_wheel_by_file_name() -> None:
    record = _record(_job("linux-x86_64-cpu", wheels=("a.whl", "b.whl")))
    verdict = Verification(status=VerificationStatus.FAILED, failed=("imports",), message="x")
    marked = record.with_verdicts({"b.whl": verdict})
    assert [w.verification for _, w in marked.entries()] == [None, verdict]
    assert record.jobs[0].wheels[1].verification is None  # the original is unchanged


def test_a_rerun_keeps_the_jobs_it_did_not_rebuild_in_front() -> None:
    earlier = _record(_job("linux-x86_64-cpu", wheels=("old.whl",)), _job("linux-x86_64-cu130"))
    now = _record(_job("linux-x86_64-cpu", wheels=("new.whl",)))
    merged = now.merged_over(earlier)
    assert [(j.id, [w.name for w in j.wheels]) for j in merged.jobs] == [
        ("linux-x86_64-cu130", []),
        ("linux-x86_64-cpu", ["new.whl"]),
    ]
    assert now.merged_over(None) == now
