"""Settings of the upload service (see the service README for the table)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from photolane_common.settings import CommonSettings


class UploadSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=1, le=65535)
    admin_token: SecretStr | None = None
    max_upload_mb: float = Field(default=20, gt=0)
    max_megapixels: float = Field(default=50, gt=0)
    presign_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # Where browsers reach S3, when it differs from where the service does (compose: the stand-in).
    s3_public_endpoint: str | None = None
    workers: int = Field(default=2, ge=1)
    threads: int = Field(default=4, ge=1)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)
