"""What a deployment is told, from CDK context (``-c key=value``, ``cdk.json`` or ``make deploy``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: make push must not start the CDK's node runtime
    from constructs import Node

SERVICES = ("upload", "processor", "notifier")
REPOSITORY_PREFIX = "photolane"  # ECR repositories photolane/upload, … (created by make push)


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

    @classmethod
    def from_context(cls, node: Node) -> DeployConfig:
        def get(key: str, default: Any = None) -> Any:
            value = node.try_get_context(key)
            return default if value in (None, "") else value

        def scaling(name: str, default: Scaling) -> Scaling:
            return Scaling(int(get(f"{name}_min", default.minimum)), int(get(f"{name}_max", default.maximum)))

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
        )
