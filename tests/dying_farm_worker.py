"""A farm worker that is killed in the middle of one of its own activities.

``python tests/dying_farm_worker.py TEMPORAL DATA_DIR ACTIVITY MARKER`` serves ``FARM_QUEUE``
with the farm's workflows and real activities, except that ``ACTIVITY`` (``fetch_source``,
``plan_build`` or ``publish_build``) writes ``MARKER`` and then hangs, as a farm does when it
is SIGKILLed in the middle of it: the test kills this process once ``MARKER`` exists.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.worker import Worker

from wheelyard.farm.builds.activities import FarmActivities
from wheelyard.farm.builds.workflow import WORKFLOWS
from wheelyard.farm.db import open_database
from wheelyard.farm.runtime.worker import connect
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import FARM_QUEUE


def main(address: str, data_dir: Path, hangs: str, marker: Path) -> None:
    settings = FarmSettings(data_dir=data_dir)
    database = open_database(settings.database_url)
    farm = FarmActivities(settings, database)

    @activity.defn(name=hangs)
    async def hang(*_args: Any) -> None:
        marker.write_text(str(activity.info().attempt), encoding="utf-8")
        await asyncio.sleep(3600)

    real = {
        "fetch_source": farm.fetch_source,
        "plan_build": farm.plan_build,
        "record_build": farm.record_build,
        "record_job": farm.record_job,
        "publish_build": farm.publish_build,
    }
    real[hangs] = hang

    async def serve() -> None:
        client = await connect(address, "default")
        worker = Worker(
            client,
            task_queue=FARM_QUEUE,
            workflows=WORKFLOWS,
            activities=list(real.values()),
            identity="dying-farm",
        )
        await worker.run()

    asyncio.run(serve())


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
