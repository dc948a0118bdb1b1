"""The reconciler against a real moto server: photos left behind by a process that died are sent on."""

from datetime import UTC, datetime, timedelta
from typing import Any

from photolane.testing import Stack
from photolane_common import aws
from photolane_common.messages import decode
from photolane_common.models import PhotoModel
from photolane_processor.bootstrap import build_deps
from photolane_processor.handlers import ProcessorDeps, handle
from photolane_processor.reconcile import Reconciler
from photolane_processor.settings import ProcessorSettings

from ..conftest import stored_photo


def _receive(url: str) -> list[Any]:
    sqs = aws.client("sqs", ProcessorSettings())
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for m in out.get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [decode(m["Body"]) for m in out.get("Messages", [])]


def _age(photo_id: str, minutes: int = 5) -> None:
    """As if its last change were that long ago (the process that should have sent its message died)."""
    PhotoModel(photo_id).update(actions=[PhotoModel.updated_at.set(datetime.now(UTC) - timedelta(minutes=minutes))])


def test_a_queued_photo_whose_job_was_lost_is_queued_again_and_then_notified(stack: Stack, faces_dir) -> None:
    deps = build_deps(ProcessorSettings(reconcile_after_seconds=60))
    job = stored_photo(deps, (faces_dir / "obama_2.jpg").read_bytes(), email="a@example.com")
    recent = stored_photo(deps, (faces_dir / "obama_2.jpg").read_bytes())  # just uploaded: left alone
    reconciler = Reconciler(deps)
    assert reconciler.run_once() == 0
    _age(job.photo_id)
    assert reconciler.run_once() == 0  # jobs wait in the queue (S3's test event): its job may be among them
    _receive(stack.resources.jobs_queue_url)
    assert reconciler.run_once() == 1
    assert reconciler.run_once() == 0  # sent once, not again at the next pass
    jobs = [j for j in _receive(stack.resources.jobs_queue_url) if j.type == "photo.uploaded"]  # not S3's test event
    assert [j.payload() for j in jobs] == [job]
    assert recent.photo_id not in [j.data["photo_id"] for j in jobs]
    handle(jobs[0], deps)
    assert deps.photos.get(job.photo_id).status == "processed"
    assert [n.data for n in _receive(stack.resources.notifications_queue_url)] == \
        [{"photo_id": job.photo_id, "status": "processed"}]


def test_a_processed_photo_never_notified_is_notified_again_until_settled(stack: Stack, faces_dir) -> None:
    deps = build_deps(ProcessorSettings(reconcile_after_seconds=60))
    job = stored_photo(deps, (faces_dir / "obama_2.jpg").read_bytes())
    handle(decode(_receive_one_job(deps, job)), deps)
    _receive(stack.resources.notifications_queue_url)  # the notification that "got lost"
    _age(job.photo_id)
    assert Reconciler(deps).run_once() == 1
    assert [n.data for n in _receive(stack.resources.notifications_queue_url)] == \
        [{"photo_id": job.photo_id, "status": "processed"}]
    deps.photos.settled(job.photo_id)  # what the notifier does once every channel is settled
    _age(job.photo_id)
    assert Reconciler(deps).run_once() == 0


def test_after_the_last_try_a_photo_is_failed_not_sent_for_ever(stack: Stack, faces_dir) -> None:
    deps = build_deps(ProcessorSettings(reconcile_after_seconds=60, reconcile_max_nudges=2))
    job = stored_photo(deps, (faces_dir / "obama_2.jpg").read_bytes())
    for _ in range(2):
        _receive(stack.resources.jobs_queue_url)  # the job sent again is lost again
        _age(job.photo_id)
        assert Reconciler(deps).run_once() == 1
    _receive(stack.resources.jobs_queue_url)
    _age(job.photo_id)
    assert Reconciler(deps).run_once() == 0
    photo = deps.photos.get(job.photo_id)
    assert photo.status == "failed" and "never finished after 2 tries" in photo.error
    assert {"photo_id": job.photo_id, "status": "failed"} in \
        [n.data for n in _receive(stack.resources.notifications_queue_url)]


def test_the_tick_runs_once_an_interval(stack: Stack) -> None:
    deps = build_deps(ProcessorSettings(reconcile_interval_seconds=60))
    now = [1000.0]
    runs: list[int] = []
    reconciler = Reconciler(deps, clock=lambda: now[0])
    reconciler.run_once = lambda: runs.append(1) or 0  # type: ignore[method-assign]
    reconciler.tick()
    now[0] += 30
    reconciler.tick()
    now[0] += 31
    reconciler.tick()
    assert len(runs) == 2


def _receive_one_job(deps: ProcessorDeps, job: Any) -> str:
    from photolane_common.messages import encode

    return encode(job)
