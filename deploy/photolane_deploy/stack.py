"""The stacks: ``PhotolaneStack`` (everything ``make deploy`` creates) and ``DataStack`` (the data layer
alone, deployed to the AWS stand-in by the smoke test)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import nag
from .config import DeployConfig
from .data import FLIPPED, INCOMING_PREFIX, ORIGINALS, PEOPLE, RESULTS, THUMBS, DataLayer
from .monitoring import Alarms
from .services import TaskSize, UploadService, WorkerService, image

REPLY_QUEUE_PREFIX = "photolane-replies-"  # made by the command-line client for stats answers
IMAGE_PREFIXES = [ORIGINALS, INCOMING_PREFIX, FLIPPED, THUMBS, RESULTS, PEOPLE]


class DataStack(Stack):
    """The data layer on its own, without the bootstrap-version check (the stand-in has no SSM
    parameter for it) and destroyed with the stack (a test leaves nothing behind)."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
                         **kwargs)
        self.data = DataLayer(self, "Data", name_prefix=self.stack_name.lower(), retain=False)
        for key, value in self.data.environment().items():
            CfnOutput(self, key.removeprefix("PHOTOLANE_").title().replace("_", ""), value=value)


class PhotolaneStack(Stack):
    """VPC (public subnets only), ECS cluster, the three services, the data layer, alarms."""

    def __init__(self, scope: Construct, id: str, *, config: DeployConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.data = DataLayer(self, "Data", name_prefix=self.stack_name.lower())
        vpc = ec2.Vpc(
            self, "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
            # True would add a Lambda-backed custom resource; nothing here uses the default group.
            restrict_default_security_group=False,
        )
        vpc.add_flow_log("FlowLogs", destination=ec2.FlowLogDestination.to_s3(self.data.logs_bucket, "vpc/"))
        self.cluster = cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc,
            container_insights_v2=(ecs.ContainerInsights.ENABLED if config.container_insights
                                   else ecs.ContainerInsights.DISABLED),
        )
        common = {**self.data.environment(), "PHOTOLANE_EMAIL_FROM": config.email_from, "PHOTOLANE_LOG_LEVEL": "INFO"}

        self.upload = UploadService(
            self, "Upload", cluster=cluster, image=image(self, "upload", config.tag, config.registry),
            environment=common, scaling=config.upload, size=TaskSize(cpu=512, memory=1024),
            logs_bucket=self.data.logs_bucket, certificate_arn=config.certificate_arn,
        )
        public_url = f"https://{config.domain_name}" if config.domain_name else self.upload.url
        # Sign-in links are built on the public address; over HTTPS the session cookie is Secure.
        self.upload.container.add_environment("PHOTOLANE_PUBLIC_URL", public_url)
        self.upload.container.add_environment("PHOTOLANE_COOKIE_SECURE", str(bool(config.certificate_arn)).lower())
        self.processor = WorkerService(
            self, "Processor", name="processor", cluster=cluster,
            image=image(self, "processor", config.tag, config.registry), queue=self.data.jobs.queue,
            environment=common, scaling=config.processor, size=TaskSize(cpu=1024, memory=2048),
            stop_timeout=Duration.seconds(120),
        )
        self.notifier = WorkerService(
            self, "Notifier", name="notifier", cluster=cluster,
            image=image(self, "notifier", config.tag, config.registry), queue=self.data.notifications.queue,
            environment={**common, "PHOTOLANE_PUBLIC_URL": public_url,
                         "PHOTOLANE_EVENTS_TOPIC_ARN": self.data.events_topic.topic_arn},
            scaling=config.notifier, size=TaskSize(cpu=256, memory=512),
            stop_timeout=Duration.seconds(30),
        )
        self._grant_upload(self.upload.task_role)
        self._grant_processor(self.processor.task_role)
        self._grant_notifier(self.notifier.task_role, config.email_from)
        Alarms(self, "Alarms", queues={"Jobs": self.data.jobs, "Notifications": self.data.notifications},
               email=config.alarm_email)
        self._outputs()
        nag.acknowledge(self)

    # -- least privilege, one task role per service ---------------------------------------------------
    def _grant_upload(self, role: iam.IRole) -> None:
        """Stores originals and enrollment photos, presigns every image, reads and writes the records,
        queues jobs (uploads, enrollments, deletions) and sign-in links; the admin page's queue work:
        depths, purge, and redrive (receive from a dead-letter queue, send back, delete)."""
        data = self.data
        data.grant_objects(role, ["s3:PutObject"], [ORIGINALS, PEOPLE])
        data.grant_objects(role, ["s3:GetObject"], IMAGE_PREFIXES)  # the presigned URLs act as this role
        for table in (data.photos_table, data.people_table, data.settings_table):
            table.grant_read_write_data(role)
        for work in (data.jobs, data.notifications):
            work.queue.grant_send_messages(role)
            work.queue.grant_purge(role)  # with GetQueueAttributes: the depths
            work.dead_letters.grant_consume_messages(role)  # never the live queues: workers do that
            work.dead_letters.grant_purge(role)

    def _grant_processor(self, role: iam.IRole) -> None:
        """Reads originals (uploads, drop-ins, enrollment photos), writes what it makes, updates the
        records, sends notifications and stats answers. Receiving its jobs is the pattern's own grant."""
        data = self.data
        sources = [ORIGINALS, INCOMING_PREFIX, PEOPLE]
        data.grant_objects(role, ["s3:GetObject"], sources)
        data.grant_list(role, sources)  # a vanished original must read as missing, not as denied
        data.grant_objects(role, ["s3:PutObject"], [FLIPPED, THUMBS, RESULTS])
        for table in (data.photos_table, data.people_table, data.settings_table):
            table.grant_read_write_data(role)
        data.notifications.queue.grant_send_messages(role)
        data.jobs.dead_letters.grant_send_messages(role)  # unreadable messages are moved there at once
        iam.Grant.add_to_principal(
            grantee=role, actions=["sqs:SendMessage", "sqs:GetQueueUrl"],
            resource_arns=[f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:{Aws.ACCOUNT_ID}:{REPLY_QUEUE_PREFIX}*"],
        )

    def _grant_notifier(self, role: iam.IRole, email_from: str) -> None:
        """Claims and records deliveries on the photo record, texts (SNS), mails (SES), publishes events."""
        data = self.data
        data.photos_table.grant_read_write_data(role)
        data.notifications.dead_letters.grant_send_messages(role)
        data.events_topic.grant_publish(role)
        # An SMS is published to a phone number, which has no ARN: IAM only takes "*" for it.
        iam.Grant.add_to_principal(grantee=role, actions=["sns:Publish"], resource_arns=["*"])
        # In the SES sandbox the recipients' identities are checked too, so the resource is every
        # identity of the account; the sender is pinned by the condition.
        iam.Grant.add_to_principal(
            grantee=role, actions=["ses:SendEmail"],
            resource_arns=[f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:identity/*"],
            conditions={"StringEquals": {"ses:FromAddress": email_from}},
        )

    def _outputs(self) -> None:
        CfnOutput(self, "Url", value=self.upload.url, description="photolane's address (the ALB)")
        CfnOutput(self, "AdminTokenSecret", value=self.upload.admin_token.secret_arn,
                  description="aws secretsmanager get-secret-value --secret-id <this> --query SecretString")
        for key, value in self.data.environment().items():
            if key != "PHOTOLANE_REGION":
                CfnOutput(self, key.removeprefix("PHOTOLANE_").title().replace("_", ""), value=value)
