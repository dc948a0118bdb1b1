"""Create the AWS resources photolane needs, idempotently, on the stand-in (embedded mode, compose).

On real AWS the CloudFormation stack in deploy/ creates them instead; the names and settings here
match it. Run ``python -m photolane_common.resources`` to create them from the environment.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from typing import Any

from . import aws, logs
from .models import ALL_MODELS, PersonModel, bind_models
from .people import PeopleStore
from .settings import CommonSettings

log = logging.getLogger("photolane.resources")

MAX_RECEIVE_COUNT = 3
# Short, so a message whose worker was killed is taken again within seconds; a worker extends it
# every half of it while its job runs (the default of PHOTOLANE_VISIBILITY_TIMEOUT_SECONDS too).
VISIBILITY_TIMEOUT = {"jobs": 30, "notifications": 30}
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class Resources:
    bucket: str
    jobs_queue_url: str
    notifications_queue_url: str
    events_topic_arn: str


def ensure_resources(settings: CommonSettings) -> Resources:
    """Bucket, queues with dead-letter queues, tables, topic and the sender's email identity."""
    _ensure_bucket(aws.client("s3", settings), settings.bucket)
    sqs = aws.client("sqs", settings)
    jobs = _ensure_queue(sqs, settings.jobs_queue, VISIBILITY_TIMEOUT["jobs"])
    notifications = _ensure_queue(sqs, settings.notifications_queue, VISIBILITY_TIMEOUT["notifications"])
    _notify_jobs_of_drop_ins(aws.client("s3", settings), settings.bucket, sqs, jobs)
    _ensure_tables(settings)
    topic_arn = aws.client("sns", settings).create_topic(Name=settings.events_topic)["TopicArn"]
    aws.client("ses", settings).verify_email_identity(EmailAddress=settings.email_from)
    resources = Resources(settings.bucket, jobs, notifications, topic_arn)
    log.info("resources.ready", extra={"resources": resources.__dict__})
    return resources


def _ensure_bucket(s3: Any, bucket: str) -> None:
    region = s3.meta.region_name
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    default_encryption = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [default_encryption]})


INCOMING_PREFIX = "incoming/"


def _notify_jobs_of_drop_ins(s3: Any, bucket: str, sqs: Any, jobs_url: str) -> None:
    """Objects put straight under incoming/ (console, CLI) reach the jobs queue as S3 events."""
    arn = sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": INCOMING_PREFIX}]}},
        }]},
    )


def _ensure_queue(sqs: Any, name: str, visibility_timeout: int) -> str:
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_SECONDS)}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(visibility_timeout),
        "ReceiveMessageWaitTimeSeconds": "20",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
    }
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def _ensure_tables(settings: CommonSettings) -> None:
    bind_models(settings)
    dynamodb = aws.client("dynamodb", settings)
    created = set()
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.add(model)
        else:
            _add_missing_indexes(dynamodb, model)
    if PersonModel in created:  # nobody from before collections to mark: the default one is read by its index
        PeopleStore().mark_pooled()
    _expire_settings(aws.client("dynamodb", settings), settings.settings_table)


def _add_missing_indexes(dynamodb: Any, model: Any) -> None:
    """A table made by an older version (a kept local store) gets the indexes added since."""
    table = dynamodb.describe_table(TableName=model.Meta.table_name)["Table"]
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes") or []}
    for index in model._get_schema()["global_secondary_indexes"]:
        if index["index_name"] in present:
            continue
        dynamodb.update_table(
            TableName=model.Meta.table_name, AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": index["index_name"], "KeySchema": index["key_schema"],
                                                     "Projection": index["projection"]}}],
        )


def _expire_settings(dynamodb: Any, table: str) -> None:
    """Rate-limit counters, used sign-in links and revoked sessions expire on their own (TTL)."""
    current = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(TableName=table,
                                     TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})


def main() -> int:
    settings = CommonSettings()
    logs.configure("resources", settings.log_level)
    ensure_resources(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
