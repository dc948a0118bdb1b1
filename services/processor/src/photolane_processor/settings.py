"""Settings of the processor (see the service README for the table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from photolane_common.settings import WorkerSettings

from .policy import NamingPolicy


class ProcessorSettings(WorkerSettings):
    visibility_timeout_seconds: int = Field(default=30, ge=4, le=43200)
    health_file: Path | None = Path("/tmp/photolane-processor.health")
    thumbnail_px: int = Field(default=256, ge=16, le=4096)
    # One decode at least this long (JPEGs are DCT-scaled to it) feeds thumbnail, detection, encoding.
    work_px: int = Field(default=2000, ge=256)
    # Faces are found on a copy whose long side is at most this, upsampled this many times
    # (size x 2^upsample ~ 2000 px keeps every face of the test photos; see BENCHMARKS.md).
    detect_max_px: int = Field(default=1000, ge=128)
    detect_upsample: int = Field(default=1, ge=0, le=3)
    jpeg_quality: int = Field(default=92, ge=50, le=100)
    # The naming policy (policy.py): never name or suggest a person farther than this; the margin a
    # name needs over the next person.
    face_tolerance: float = Field(default=0.6, gt=0, le=2)
    naming_margin: float = Field(default=0.05, ge=0, le=1)
    # The reconciler (reconcile.py): once this often (0: never) it sends again the message of photos
    # still pending (not yet processed and notified) and unchanged this long, at most so many times.
    reconcile_interval_seconds: int = Field(default=60, ge=0)
    reconcile_after_seconds: int = Field(default=120, ge=1)
    reconcile_max_nudges: int = Field(default=5, ge=1)
    # Unknown faces (known.py): a new one joins the group of the nearest unknown face at most this far.
    cluster_radius: float = Field(default=0.45, gt=0, le=2)
    # The in-memory indexes (mirror.py): read the change feeds this often between polls, and write a
    # snapshot for cold starts once so many changes have passed since the last.
    index_refresh_seconds: float = Field(default=2.0, ge=0)
    index_snapshot_every: int = Field(default=1000, ge=1)
    # Rows (faces, people) held in memory across the collections in use: past it, the least recently
    # used collections' indexes are let go (loaded again from their snapshots when next needed).
    index_max_rows: int = Field(default=800_000, ge=1)  # about 600 MB (make bench-people: ~740 bytes a row)
    # Tests only (the erasure's kill test): an erasure waits this long half-way (objects deleted, record
    # not yet), so a kill -9 lands in the middle of it.
    fault_pause_in_erasure_seconds: float = Field(default=0, ge=0)

    @property
    def naming(self) -> NamingPolicy:
        return NamingPolicy(max_tolerance=self.face_tolerance, margin=self.naming_margin)
