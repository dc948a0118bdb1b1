import uuid
from datetime import UTC, datetime

import pytest

from photolane.testing import Stack
from photolane_common.domain import QUEUED, Photo
from photolane_common.messages import PhotoUploaded
from photolane_processor.bootstrap import build_deps
from photolane_processor.handlers import ProcessorDeps
from photolane_processor.settings import ProcessorSettings


@pytest.fixture
def deps(stack: Stack) -> ProcessorDeps:
    return build_deps(ProcessorSettings(thumbnail_px=200, poll_wait_seconds=1))


def stored_photo(deps: ProcessorDeps, data: bytes, **fields: str) -> PhotoUploaded:
    """An original in the bucket and its record, queued: the job the upload service would send."""
    photo_id = str(uuid.uuid4())
    key = f"originals/{photo_id}.jpg"
    deps.blobs.put(key, data, "image/jpeg")
    now = datetime.now(UTC)
    deps.photos.create(Photo(id=photo_id, status=QUEUED, created_at=now, updated_at=now,
                             content_type="image/jpeg", original_key=key, **fields))
    return PhotoUploaded(photo_id=photo_id, original_key=key)
