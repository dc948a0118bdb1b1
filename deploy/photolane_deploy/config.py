"""What a deployment is told, from CDK context (``-c key=value``, ``cdk.json`` or ``make deploy``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: make push must not start the CDK's node runtime
    from constructs import Node

SERVICES = ("upload", "processor", "notifier")
REPOSITORY_PREFIX = "photolane"  # ECR repositories photolane/upload, … (created by make push)
DEFAULT_SMS_COUNTRIES = "US,CA,GB,IE,AU,NZ"  # as the services' own default (photolane_common.settings)
WAF_RATE_LIMITS = (10, 2_000_000_000)  # what WAF takes for a rate-based rule
MAX_RETENTION_DAYS = 36500  # as the services' own bound (photolane_common.settings)


@dataclass(frozen=True)
class Scaling:
    minimum: int
    maximum: int


@dataclass(frozen=True)
class DeployConfig:
    stack_name: str = "Photolane"
    tag: str = "latest"  # image tag: make push and make deploy use the git commit
    registry: str | None = None  # None: ECR of the stack's account and region
    certificate_arn: str | None = None  # HTTPS on the ALB when given
    domain_name: str | None = None  # the name the certificate covers (links in notifications)
    email_from: str = "photolane@example.com"  # must be a verified SES identity
    alarm_email: str | None = None  # subscribed to the alarms topic when given
    upload: Scaling = Scaling(1, 4)
    # Workers idle at zero tasks: a job makes the queue-depth alarm start one (see README: cold start).
    processor: Scaling = Scaling(0, 4)
    notifier: Scaling = Scaling(0, 2)
    container_insights: bool = False  # per-task metrics cost ~$10/month even idle; opt in
    # WAF on the load balancer: requests one client may make in 5 minutes before it is blocked (429).
    waf_rate_limit: int = 1000
    # The account's SNS SMS spend limit in USD a month (account-wide, this region); None leaves it alone.
    # New accounts may set at most 1 until AWS Support raises their quota: a higher value fails the deploy.
    sms_monthly_limit_usd: int | None = 1
    # Countries SMS may go to (ISO 3166 alpha-2), the services' PHOTOLANE_SMS_COUNTRIES (same default).
    sms_countries: str = DEFAULT_SMS_COUNTRIES
    # Photos erased this many days after their upload (the services' PHOTOLANE_RETENTION_DAYS); None: kept.
    retention_days: int | None = None

    def __post_init__(self) -> None:
        if self.domain_name and not self.certificate_arn:
            raise ValueError("domain_name needs certificate_arn (a certificate for that name): without one, "
                             "photolane is served on its CloudFront address")
        if not WAF_RATE_LIMITS[0] <= self.waf_rate_limit <= WAF_RATE_LIMITS[1]:
            raise ValueError(f"waf_rate_limit must be from {WAF_RATE_LIMITS[0]} to {WAF_RATE_LIMITS[1]:,} "
                             f"(requests per client in 5 minutes), not {self.waf_rate_limit}")
        if self.sms_monthly_limit_usd is not None and self.sms_monthly_limit_usd < 1:
            raise ValueError("sms_monthly_limit_usd must be a whole number of USD, at least 1 "
                             f"(or none to leave the account's limit alone), not {self.sms_monthly_limit_usd}")
        codes = self.sms_countries.split(",")
        if not all(len(code) == 2 and code.isascii() and code.isalpha() and code.isupper() for code in codes):
            raise ValueError(f"sms_countries must be ISO 3166 alpha-2 codes separated by commas (US,CA), "
                             f"not {self.sms_countries!r}")
        if self.retention_days is not None and not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise ValueError(f"retention_days must be a whole number of days from 1 to {MAX_RETENTION_DAYS} "
                             f"(or none to keep photos), not {self.retention_days}")

    @property
    def cloudfront(self) -> bool:
        """CloudFront (its *.cloudfront.net certificate) in front of the ALB: HTTPS without a certificate."""
        return not self.certificate_arn

    @classmethod
    def from_context(cls, node: Node) -> DeployConfig:
        def get(key: str, default: Any = None) -> Any:
            value = node.try_get_context(key)
            return default if value in (None, "") else value

        def scaling(name: str, default: Scaling) -> Scaling:
            return Scaling(int(get(f"{name}_min", default.minimum)), int(get(f"{name}_max", default.maximum)))

        def sms_limit(value: Any) -> int | None:
            return None if str(value).lower() in ("none", "off") else int(value)

        def days(value: Any) -> int | None:
            return None if value is None or str(value).lower() in ("none", "off") else int(value)

        defaults = cls()
        return cls(
            stack_name=str(get("stack_name", defaults.stack_name)),
            tag=str(get("tag", defaults.tag)),
            registry=get("registry"),
            certificate_arn=get("certificate_arn"),
            domain_name=get("domain_name"),
            email_from=str(get("email_from", defaults.email_from)),
            alarm_email=get("alarm_email"),
            upload=scaling("upload", defaults.upload),
            processor=scaling("processor", defaults.processor),
            notifier=scaling("notifier", defaults.notifier),
            container_insights=str(get("container_insights", "false")).lower() in ("1", "true", "yes"),
            waf_rate_limit=int(get("waf_rate_limit", defaults.waf_rate_limit)),
            sms_monthly_limit_usd=sms_limit(get("sms_monthly_limit_usd", defaults.sms_monthly_limit_usd)),
            sms_countries=",".join(c.strip().upper() for c in str(get("sms_countries", defaults.sms_countries))
                                   .split(",") if c.strip()),
            retention_days=days(get("retention_days")),
        )
