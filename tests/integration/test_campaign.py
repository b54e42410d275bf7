"""A rebuild campaign on a real farm (`wheelyard farm up`: Temporal dev server, API, a local
worker building with cibuildwheel in the builder image), cp312 only.

The farm holds four packages: the core `yardstream` (examples/multi-package/core), two packages
that build against it - `yardstream-s3` (requires it; its C extension uses yardstream's C API)
and `yardstream-dedup` (examples/yardstream-dedup: yardstream is also a build requirement) -
and the unrelated `hello-c`. `wheelyard campaign start --pin yardstream==<new>` rebuilds exactly
the core and its two dependents, the core first (asserted from the recorded timestamps), leaves
hello-c untouched, and finishes after the farm is killed (SIGKILL) and started again in the
middle without rebuilding the core. `--add-python cp314` reports hello-c as skipped: the builder image
has no cp314.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from farm_process import FarmProcess
from wheelyard.farm.client import FarmClient
from wheelyard.farm.runtime.temporal_server import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
CORE = REPO / "examples" / "multi-package" / "core"
PLUGIN_S3 = REPO / "examples" / "multi-package" / "plugin-s3"
DEDUP = REPO / "examples" / "yardstream-dedup"
HELLO_C = REPO / "examples" / "hello-c"
NEW = "0.1.0.dev20261121"


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[FarmProcess]:
    extra = ("--queue", "linux-x86_64-cpu", "--concurrency", "2")
    process = FarmProcess(
        data=tmp_path / "farm", port=free_port(), temporal_port=free_port(), extra_args=extra
    )
    yield process
    process.close()


def wait_for(what: Callable[[], Any], check: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never got there: {json.dumps(value, indent=1)[:4000]}")
        time.sleep(0.5)


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_a_pinned_core_is_rebuilt_before_its_two_dependents_across_a_farm_restart(
    farm: FarmProcess,
) -> None:
    farm.start()
    client = FarmClient(farm.url, (farm.data / "admin.token").read_text().strip())

    def submit(path: Path) -> int:
        body = {
            "path": str(path),
            "python": ["cp312"],
            "date": "2026-11-20",
            "heartbeat_seconds": 5,
        }
        return int(client.submit(body)["id"])

    def published(build_id: int) -> dict[str, Any]:
        build = client.wait(build_id, timeout=300, poll=1)
        assert build["state"] == "published", build
        return build

    core = published(submit(CORE))  # its dependents' builds install it from the farm
    s3, dedup, hello = (published(b) for b in [submit(PLUGIN_S3), submit(DEDUP), submit(HELLO_C)])

    # What each wheel was built against.
    [dedup_wheel] = dedup["wheels"]
    against = dedup_wheel["built_against"]
    assert against["python"] == "cp312"
    assert against["abi"] == ["cp312"]
    assert against["image"]["ref"] == "localhost/wheelyard-builder:cpu"
    assert against["toolkit"]["gcc"]
    assert against["build_dependencies"]["yardstream"] == "0.1.0.dev20261120"
    assert "setuptools" in against["build_dependencies"]
    assert list(against["elf_needed"]) == [
        "yardstream_dedup/_dedup.cpython-312-x86_64-linux-gnu.so"
    ]
    assert {"libc.so.6", "libm.so.6"} <= set(
        hello["wheels"][0]["built_against"]["shared_libraries"]
    )
    assert "yardstream<0.2,>=0.1.0.dev20261120" in against["requires"]
    assert core["wheels"][0]["built_against"]["build_dependencies"].keys() == {"setuptools"}
    graph = client.graph()
    assert graph["edges"] == [
        {"package": "yardstream-dedup", "depends_on": "yardstream", "kinds": ["build", "runtime"]},
        {"package": "yardstream-s3", "depends_on": "yardstream", "kinds": ["runtime"]},
    ]
    with urllib.request.urlopen(f"{farm.url}/package/yardstream-dedup") as response:
        assert "yardstream==0.1.0.dev20261120" in response.read().decode()

    # The campaign: the core at a new version, then what builds against it.
    started = farm.cli(
        "campaign",
        "start",
        "--pin",
        f"yardstream=={NEW}",
        "--date",
        "2026-11-21",
        "--concurrency",
        "2",
        "--heartbeat",
        "5",
        "--data",
        str(farm.data),
        "--json",
    )
    assert started.returncode == 0, started.stdout + started.stderr
    campaign_id = int(json.loads(started.stdout)["id"])
    assert [p["package"] for p in json.loads(started.stdout)["packages"]] == [
        "yardstream",
        "yardstream-dedup",
        "yardstream-s3",
    ]

    def states() -> dict[str, Any]:
        return client.campaign(campaign_id)

    middle = wait_for(
        states,
        lambda c: (
            {p["package"]: p["state"] for p in c["packages"]}["yardstream"] == "done"
            and any(p["state"] == "building" for p in c["packages"])
        ),
        timeout=240,
    )
    assert middle["done"] == 1
    # Kill the whole farm (SIGKILL: no clean-up runs) in the middle of the campaign, then start
    # it again: it stops the Temporal dev server the killed farm left and resumes the campaign.
    farm.kill()
    farm.start()
    done = wait_for(states, lambda c: c["state"] in ("done", "stalled"), timeout=300)
    assert done["state"] == "done", json.dumps(done["packages"], indent=1)

    rows = {p["package"]: p for p in done["packages"]}
    assert set(rows) == {"yardstream", "yardstream-dedup", "yardstream-s3"}
    assert all(p["state"] == "done" and p["version"] == NEW for p in rows.values())
    # The core was rebuilt once and published before either dependent's rebuild started.
    assert rows["yardstream"]["attempts"] == 1
    core_finished = when(rows["yardstream"]["build_finished_at"])
    for dependent in ("yardstream-s3", "yardstream-dedup"):
        assert when(rows[dependent]["build_started_at"]) >= core_finished

    def builds(package: str) -> list[int]:
        return sorted(b["id"] for b in client.builds(package))

    assert builds("yardstream") == [core["id"], rows["yardstream"]["build_id"]]
    assert builds("hello-c") == [hello["id"]]  # the fourth package is untouched
    assert builds("yardstream-s3") == [s3["id"], rows["yardstream-s3"]["build_id"]]
    assert builds("yardstream-dedup") == [dedup["id"], rows["yardstream-dedup"]["build_id"]]

    rebuilt = client.build(rows["yardstream-dedup"]["build_id"])
    [wheel] = rebuilt["wheels"]
    assert wheel["built_against"]["build_dependencies"]["yardstream"] == NEW
    assert wheel["filename"].startswith(f"yardstream_dedup-{NEW}-cp312-cp312-")

    status = farm.cli("campaign", "status", str(campaign_id))
    assert status.returncode == 0, status.stderr
    assert f"campaign {campaign_id} (pin yardstream=={NEW}): done" in status.stdout
    with urllib.request.urlopen(f"{farm.url}/campaign/{campaign_id}") as response:
        page = response.read().decode()
    assert 'data-package="yardstream-s3" data-state="done"' in page

    # A Python the builder image lacks: hello-c is skipped with the reason, nothing is built.
    added = farm.cli(
        "campaign", "start", "--add-python", "cp314", "--package", "hello-c",
        "--data", str(farm.data), "--wait", "--timeout", "60", "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    skipped = json.loads(added.stdout)
    assert skipped["state"] == "done"
    [row] = skipped["packages"]
    assert row["package"] == "hello-c"
    assert row["state"] == "skipped"
    assert "has no cp314" in row["message"]
    assert row["build_id"] is None

    # A pin that keeps hello-c's published version (the same date): the rebuild gets the wheel
    # build tag 1 instead of colliding with the published files; installers prefer it.
    same = farm.cli(
        "campaign", "start", "--pin", "hello-c==0.1.0.dev20261120", "--date", "2026-11-20",
        "--heartbeat", "5", "--data", str(farm.data), "--wait", "--timeout", "240", "--json",
    )  # fmt: skip
    assert same.returncode == 0, same.stdout + same.stderr
    [row] = json.loads(same.stdout)["packages"]
    assert (row["state"], row["version"]) == ("done", "0.1.0.dev20261120")
    tagged = client.build(row["build_id"])
    assert tagged["options"]["build_tag"] == "1"
    [wheel] = tagged["wheels"]
    assert wheel["filename"].startswith("hello_c-0.1.0.dev20261120-1-cp312-cp312-")
    assert any("-1-cp312-" in name and name.endswith("-null.whl") for name in wheel["published"])
    assert builds("hello-c") == [hello["id"], row["build_id"]]

    # A pin the package's version cannot meet fails at planning: no job is built.
    refused = farm.cli(
        "campaign", "start", "--pin", "hello-c==9.9", "--date", "2026-11-20",
        "--data", str(farm.data), "--wait", "--timeout", "120", "--json",
    )  # fmt: skip
    assert refused.returncode == 1, refused.stdout + refused.stderr
    [row] = json.loads(refused.stdout)["packages"]
    assert row["state"] == "failed"
    assert "would be built as 0.1.0.dev20261120, which the pin ==9.9 excludes" in row["message"]
    assert client.build(row["build_id"])["jobs"] == []
    output = farm.stop()
    assert "stopped the Temporal dev server a killed farm left running" in output
