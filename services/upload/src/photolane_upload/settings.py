"""Settings of the upload service (see the service README for the table)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

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
    # Signs the session cookie and the sign-in links: the same in every worker and every instance.
    session_key: SecretStr | None = None
    # Where the key is kept when it is not given (created once, then shared): compose's volume.
    session_key_file: Path | None = None
    cookie_secure: bool = False  # True when served over HTTPS (an https public URL implies it)
    # Proxies in front that append to X-Forwarded-For (ALB: 1; CloudFront then ALB: 2); 0 trusts none.
    proxy_hops: int = Field(default=0, ge=0, le=5)
    # Abuse limits (0: none), counted in the settings table across every worker and task.
    uploads_per_client_hour: int = Field(default=100, ge=0)
    uploads_per_email_day: int = Field(default=50, ge=0)  # uploads naming one email, from anyone (0: none)
    # Different phone numbers a client may name an hour when the number plan cannot tell a mobile from a
    # landline (+1: US, CA): each may be a landline, a made-up number, a pumping target (0: none).
    unknown_line_numbers_per_client_hour: int = Field(default=5, ge=0)
    signins_per_client_hour: int = Field(default=20, ge=0)
    signins_per_email_hour: int = Field(default=5, ge=0)
    admin_logins_per_client_hour: int = Field(default=20, ge=0)
    corrections_per_client_hour: int = Field(default=200, ge=0)
    session_days: int = Field(default=30, ge=1, le=400)
    # Base of the links sent by email/SMS (never taken from the request's Host header).
    public_url: str = "http://127.0.0.1:5000"
    signin_max_age_seconds: int = Field(default=1800, ge=60, le=7 * 24 * 3600)
    memcached: str | None = None  # host:port; unset: an in-process cache per worker
    gallery_cache_seconds: int = Field(default=60, ge=1)
    gallery_size: int = Field(default=100, ge=1, le=1000)
    # The local inbox (/dev/inbox, inbox.py): the messages the stand-in recorded, sign-in links included.
    # make run sets it; it also needs AWS_ENDPOINT_URL on a loopback address (never on AWS).
    dev_inbox: bool = False

    @field_validator("admin_token", "session_key", "memcached", "session_key_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # compose passes `${VAR:-}`: an empty variable means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def https(self) -> bool:
        """Served over HTTPS: Secure cookies and HSTS (behind a proxy the request alone may not tell)."""
        return self.cookie_secure or self.public_url.lower().startswith("https://")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)  # megabytes as phones and computers show sizes

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)
