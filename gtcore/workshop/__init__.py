"""Provision (and tear down) the workshop: global table, replicas, sample data, regional API.

Words: *the workshop* is what this package creates; *provision* is creating it and *teardown*
removing it; *setup* is the tool people use for both: the ``setup/`` tree with its
``python -m setup up|down`` command (and the regional API and sample data it deploys), and the
dashboard's Setup page (``pages/setup.py``, ``ui/setup_view.py``).

:func:`provision_workshop` is what ``python -m setup up`` and the dashboard's Setup page run:

1. the on-demand table (``PK``/``SK`` strings) in the home region (tagged as made by setup);
2. the sample data (the twelve-title catalog and the demo bookmarks), written only where an
   item is missing, never overwriting one (before the replicas: a new replica is backfilled
   with the table's items, so the read-back need not wait out replication lag);
3. a replica in every other region (``UpdateTable ReplicaUpdates Create``, one at a time),
   waiting until every replica is ACTIVE;
4. a read-back of every sample item in every region (waiting out replication lag);
5. the regional API: against the emulator, the Lambda function ``<table>-dev`` in every region
   (IAM role first, a zip of ``setup/api``); against AWS, the URL of each region's API, from a
   ``deploy`` callable (``setup --deploy-api`` runs ``chalice deploy``) or discovered through
   API Gateway, recorded with :mod:`gtcore.apis`; then a ``/health`` call per region.

It is idempotent: a second run changes nothing and its report says so. :func:`teardown_workshop`
removes what setup made (replicas first, then the table, functions and role) and nothing else:
a table without setup's tag is refused unless ``force=True``.

Both report progress through an optional callback and return a :class:`WorkshopReport`.

Modules: :mod:`.report` (progress, steps, report), :mod:`.tags` (setup's tag),
:mod:`.sample_data` (the shipped items and thumbnails), :mod:`.table` (table, replicas, waits),
:mod:`.sample_load` (writing and reading back the items), :mod:`.functions` (the emulator's
Lambda functions and role), :mod:`.api_urls` (AWS API URLs, /health), :mod:`.provision` and
:mod:`.teardown` (the orchestration).
"""

from gtcore.workshop.api_urls import _check_apis as _check_apis  # tests/test_setup_deploy.py uses it
from gtcore.workshop.api_urls import ensure_api_urls
from gtcore.workshop.functions import API_PROJECT_DIR, api_zip
from gtcore.workshop.provision import provision_workshop
from gtcore.workshop.report import Step, WorkshopProgress, WorkshopReport
from gtcore.workshop.report import _Run as _Run  # tests/test_setup_deploy.py uses it
from gtcore.workshop.sample_data import (
    SAMPLE_DATA_PATH,
    THUMBS_DIR,
    catalog,
    sample_items,
    thumbnail_data_uri,
    thumbnail_path,
)
from gtcore.workshop.tags import CREATED_BY
from gtcore.workshop.teardown import remove_replica, teardown_workshop

__all__ = [
    "API_PROJECT_DIR",
    "CREATED_BY",
    "SAMPLE_DATA_PATH",
    "THUMBS_DIR",
    "WorkshopProgress",
    "WorkshopReport",
    "Step",
    "api_zip",
    "catalog",
    "ensure_api_urls",
    "remove_replica",
    "sample_items",
    "provision_workshop",
    "teardown_workshop",
    "thumbnail_data_uri",
    "thumbnail_path",
]
