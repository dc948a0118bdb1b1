"""The data layer: bucket, queues with dead-letter queues, tables, events topic.

The same construct serves the full stack and the stand-in smoke test (``DataStack``), so it uses
nothing Lambda-backed: CDK's ``add_event_notification`` and ``auto_delete_objects`` would add custom
resources that only real AWS can run. The bucket's notification is the plain CloudFormation property.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from photolane_common.messages import VERSION
from photolane_common.resources import (
    DEAD_LETTER_RETENTION_SECONDS,
    INCOMING_PREFIX,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT,
)
from photolane_common.retention import BACKSTOP_DAYS

# Where each service reads and writes in the bucket (keys are made by the services' handlers).
ORIGINALS, FLIPPED, THUMBS, RESULTS, PEOPLE = "originals/", "flipped/", "thumbs/", "results/", "people/"
INDEX = "index/"  # the processor's snapshots of its in-memory face indexes
FACES = "faces/"  # each face's picture (faces/<photo id>/<index>.jpg)
# What a photo is made into: with retention, expired by the bucket's lifecycle as a backstop to the sweep.
PHOTO_PREFIXES = [ORIGINALS, INCOMING_PREFIX, FLIPPED, THUMBS, RESULTS, FACES]
SETTINGS_TTL = "expires_at"  # SettingModel.expires_at: the settings table's time-to-live attribute
PHOTOS_TTL = "expires_at"  # PhotoModel.expires_at: with retention, the photos table's backstop
# The photo bucket is versioned: a deleted or overwritten object stays recoverable (by the account, not the
# app) this many days as a noncurrent version, then S3's lifecycle removes it for good. So an erasure
# (a deleted photo, person or collection) is final after NONCURRENT_DAYS, plus the day or so S3 may
# take to run the rule. Face index snapshots (index/, rewritten often, encodings of people's faces)
# keep their old versions INDEX_NONCURRENT_DAYS only.
NONCURRENT_DAYS = 30
INDEX_NONCURRENT_DAYS = 1


class WorkQueue(Construct):
    """An SQS queue and its dead-letter queue, redriven after MAX_RECEIVE_COUNT receives."""

    def __init__(self, scope: Construct, id: str, *, visibility_timeout: int) -> None:
        super().__init__(scope, id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters",
            retention_period=Duration.seconds(DEAD_LETTER_RETENTION_SECONDS),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self, "Queue",
            visibility_timeout=Duration.seconds(visibility_timeout),
            receive_message_wait_time=Duration.seconds(20),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )


class DataLayer(Construct):
    """Everything that holds photolane's state; the services get it by grants and PHOTOLANE_* names."""

    def __init__(self, scope: Construct, id: str, *, name_prefix: str, retain: bool = True,
                 retention_days: int | None = None) -> None:
        super().__init__(scope, id)
        self.retention_days = retention_days
        keep = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.jobs = WorkQueue(self, "Jobs", visibility_timeout=VISIBILITY_TIMEOUT["jobs"])
        self.notifications = WorkQueue(self, "Notifications", visibility_timeout=VISIBILITY_TIMEOUT["notifications"])
        self.logs_bucket = self._logs_bucket(keep)
        self.bucket = self._photo_bucket(name_prefix, keep)
        self.photos_table = self._table("PhotosTable", keep,
                                        time_to_live_attribute=PHOTOS_TTL if retention_days else None)
        self.photos_table.add_global_secondary_index(  # OwnerIndex in models.py: the gallery, newest first
            index_name="owner-created",
            partition_key=dynamodb.Attribute(name="owner", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.photos_table.add_global_secondary_index(  # UnknownFacesIndex: sparse, keys only
            index_name="unknown-faces",
            partition_key=dynamodb.Attribute(name="unknown", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.photos_table.add_global_secondary_index(  # PendingIndex: sparse, sharded; the reconciler's
            index_name="pending-updated",
            partition_key=dynamodb.Attribute(name="pending", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="updated_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.photos_table.add_global_secondary_index(  # CreatedIndex: sharded, keys only; the retention sweep's
            index_name="shard-created",
            partition_key=dynamodb.Attribute(name="created_shard", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.photos_table.add_global_secondary_index(  # UncertainIndex: sparse, keys only (admin page)
            index_name="uncertain-deliveries",
            partition_key=dynamodb.Attribute(name="uncertain", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.photos_table.add_global_secondary_index(  # PhotosByCollectionIndex: sparse, 16 shards a collection
            index_name="photos-by-collection",
            partition_key=dynamodb.Attribute(name="pool", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.people_table = self._table("PeopleTable", keep)
        self.people_table.add_global_secondary_index(  # PeopleByNameIndex: a person by their exact name
            index_name="people-by-name",
            partition_key=dynamodb.Attribute(name="name", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.people_table.add_global_secondary_index(  # PeopleByCollectionIndex: sparse, 16 shards a collection
            index_name="people-by-collection",
            partition_key=dynamodb.Attribute(name="pool", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        # CollectionModel: a collection's name, attributes and upload links.
        self.collections_table = self._table("CollectionsTable", keep)
        # Rate-limit counters, used sign-in links and revoked sessions die on their own (epoch seconds).
        self.settings_table = self._table("SettingsTable", keep, key="key", time_to_live_attribute=SETTINGS_TTL)
        # FaceModel: each face of a processed photo under "person:<id>" or "cluster:<id>", one query a group.
        self.faces_table = self._table("FacesTable", keep, key="group", sort_key="face")
        self.faces_table.add_global_secondary_index(  # ClusterSizeIndex: the unknown people, largest first
            index_name="clusters-by-size",
            partition_key=dynamodb.Attribute(name="listing", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="size", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.events_topic = sns.Topic(
            self, "EventsTopic",
            # The AWS-managed key: encrypted at rest at no monthly cost.
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
            enforce_ssl=True,
        )

    # -- the bucket ------------------------------------------------------------------------
    def _logs_bucket(self, keep: RemovalPolicy) -> s3.Bucket:
        """Server access logs of the photo bucket, ALB access logs, VPC flow logs; kept 90 days."""
        return s3.Bucket(
            self, "LogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,  # ALB access logs accept only SSE-S3
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=keep,
        )

    def _photo_bucket(self, name_prefix: str, keep: RemovalPolicy) -> s3.Bucket:
        # A name known before the bucket exists, so the jobs queue's policy can name the bucket
        # without referring to it (S3 checks that policy when the notification is set: the bucket
        # must come after it, and a reference would make a cycle). The stack id's first group keeps
        # it unique per deployment: a retained bucket never blocks the next deploy.
        unique = Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
        name = Fn.join("-", [name_prefix[:20], Aws.ACCOUNT_ID, Aws.REGION, unique])
        bucket = s3.Bucket(
            self, "Bucket",
            bucket_name=name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/",
            versioned=True,  # a mistaken delete or overwrite can be undone for NONCURRENT_DAYS
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_DAYS),
                    expired_object_delete_marker=True,  # a deleted key's marker goes once no version is left
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                s3.LifecycleRule(id="index-noncurrent-versions", prefix=INDEX,
                                 noncurrent_version_expiration=Duration.days(INDEX_NONCURRENT_DAYS)),
            ],
            removal_policy=keep,
        )
        if self.retention_days:  # the sweep's backstop: a photo's objects go this long after their upload
            for prefix in PHOTO_PREFIXES:
                bucket.add_lifecycle_rule(id=f"retention-{prefix.rstrip('/')}", prefix=prefix,
                                          expiration=Duration.days(self.retention_days + BACKSTOP_DAYS))
        self._notify_jobs_of_drop_ins(bucket, f"arn:{Aws.PARTITION}:s3:::{name}")
        return bucket

    def schedule_retention_sweeps(self) -> events.Rule | None:
        """With retention: an hourly retention.sweep_due on the jobs queue (a processor scaled to zero is
        started by it, and sweeps)."""
        if not self.retention_days:
            return None
        due = {"type": "retention.sweep_due", "version": VERSION, "id": events.EventField.event_id,
               "sent_at": events.EventField.time, "data": {}}
        return events.Rule(self, "RetentionSweeps", schedule=events.Schedule.rate(Duration.hours(1)),
                           targets=[targets.SqsQueue(self.jobs.queue, message=events.RuleTargetInput.from_object(due))])

    def _notify_jobs_of_drop_ins(self, bucket: s3.Bucket, bucket_arn: str) -> None:
        """Objects put under incoming/ reach the jobs queue as S3 events (as resources.py does locally)."""
        self.jobs.queue.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal("s3.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[self.jobs.queue.queue_arn],
            conditions={"ArnLike": {"aws:SourceArn": bucket_arn},
                        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        ))
        cfn_bucket: s3.CfnBucket = bucket.node.default_child  # type: ignore[assignment]
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[s3.CfnBucket.QueueConfigurationProperty(
                event="s3:ObjectCreated:*",
                queue=self.jobs.queue.queue_arn,
                filter=s3.CfnBucket.NotificationFilterProperty(s3_key=s3.CfnBucket.S3KeyFilterProperty(
                    rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=INCOMING_PREFIX)])),
            )])
        bucket.node.add_dependency(self.jobs.queue.node.find_child("Policy"))  # the queue's policy first

    # -- tables --------------------------------------------------------------------------------
    def _table(self, id: str, keep: RemovalPolicy, key: str = "id", sort_key: str | None = None,
               time_to_live_attribute: str | None = None) -> dynamodb.Table:
        """On demand, point-in-time recovery; the hash key and range key (if any) as in models.py (strings)."""
        return dynamodb.Table(
            self, id,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            time_to_live_attribute=time_to_live_attribute,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=keep,
        )

    # -- what the services are told -------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The common settings (settings.py): resource names every service reads."""
        return {
            "PHOTOLANE_REGION": Aws.REGION,
            "PHOTOLANE_BUCKET": self.bucket.bucket_name,
            "PHOTOLANE_PHOTOS_TABLE": self.photos_table.table_name,
            "PHOTOLANE_PEOPLE_TABLE": self.people_table.table_name,
            "PHOTOLANE_SETTINGS_TABLE": self.settings_table.table_name,
            "PHOTOLANE_FACES_TABLE": self.faces_table.table_name,
            "PHOTOLANE_COLLECTIONS_TABLE": self.collections_table.table_name,
            "PHOTOLANE_JOBS_QUEUE": self.jobs.queue.queue_name,
            "PHOTOLANE_NOTIFICATIONS_QUEUE": self.notifications.queue.queue_name,
            "PHOTOLANE_EVENTS_TOPIC": self.events_topic.topic_name,
            **({"PHOTOLANE_RETENTION_DAYS": str(self.retention_days)} if self.retention_days else {}),
        }

    # -- grants --------------------------------------------------------------------------------
    def grant_objects(self, grantee: iam.IGrantable, actions: list[str], prefixes: list[str]) -> iam.Grant:
        """Object actions under the given key prefixes only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=actions,
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
        )

    def grant_list(self, grantee: iam.IGrantable) -> iam.Grant:
        """ListBucket: without it a missing key reads as AccessDenied, not NoSuchKey. No s3:prefix
        condition: a GetObject request carries no prefix, so a conditioned grant would not count."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=["s3:ListBucket"],
                                          resource_arns=[self.bucket.bucket_arn])
