"""The stacks: ``PhotolaneStack`` (everything ``make deploy`` creates) and ``DataStack`` (the data layer
alone, deployed to the AWS stand-in by the smoke test)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from photolane_common.metrics import NAMESPACE

from . import nag
from .config import DeployConfig
from .dashboard import Dashboard
from .data import FACES, FLIPPED, INCOMING_PREFIX, INDEX, ORIGINALS, PEOPLE, RESULTS, THUMBS, DataLayer
from .edge import PROXY_HOPS, VIEWER_IP_HEADER, CloudFrontEntrance, OriginSubnets, WebFirewall
from .monitoring import Alarms
from .services import TaskSize, UploadService, WorkerService, image

REPLY_QUEUE_PREFIX = "photolane-replies-"  # made by the command-line client for stats answers
IMAGE_PREFIXES = [ORIGINALS, INCOMING_PREFIX, FLIPPED, THUMBS, RESULTS, PEOPLE, FACES]


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
    """VPC (public subnets for the tasks; behind CloudFront, private ones for the internal ALB), ECS cluster,
    the three services, the data layer, alarms; HTTPS at the edge: CloudFront in front of the ALB (a VPC
    origin), or the ALB's own listener with a certificate; WAF on the ALB."""

    def __init__(self, scope: Construct, id: str, *, config: DeployConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.data = DataLayer(self, "Data", name_prefix=self.stack_name.lower(), retention_days=config.retention_days)
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
        common = {**self.data.environment(), "PHOTOLANE_EMAIL_FROM": config.email_from, "PHOTOLANE_LOG_LEVEL": "INFO",
                  "PHOTOLANE_METRICS_NAMESPACE": NAMESPACE}  # the EMF lines' namespace: the dashboard's

        self.upload = UploadService(
            self, "Upload", cluster=cluster, image=image(self, "upload", config.tag, config.registry),
            environment=common, scaling=config.upload, size=TaskSize(cpu=512, memory=1024),
            logs_bucket=self.data.logs_bucket, certificate_arn=config.certificate_arn,
            # behind CloudFront the ALB is internal, in private subnets, and admits CloudFront alone
            internal_subnets=OriginSubnets(self, "OriginSubnets", vpc=vpc).subnets if config.cloudfront else None,
        )
        # HTTPS everywhere: CloudFront's own certificate, or the ALB's listener with the one given.
        self.edge = (CloudFrontEntrance(self, "Edge", service=self.upload.service, logs_bucket=self.data.logs_bucket)
                     if config.cloudfront else None)
        if self.edge:
            self.public_url = self.edge.url
        else:
            self.public_url = f"https://{config.domain_name}" if config.domain_name else self.upload.url
        self.firewall = WebFirewall(self, "Firewall", load_balancer=self.upload.service.load_balancer,
                                    rate_limit=config.waf_rate_limit,
                                    client_ip_header=VIEWER_IP_HEADER if self.edge else None)
        # Sign-in links are built on the public address (https: the app sends HSTS); the session cookie is
        # Secure; the client's address is the one the proxies in front appended to X-Forwarded-For.
        self.upload.container.add_environment("PHOTOLANE_PUBLIC_URL", self.public_url)
        self.upload.container.add_environment("PHOTOLANE_COOKIE_SECURE", "true")
        self.upload.container.add_environment("PHOTOLANE_PROXY_HOPS",
                                              str(PROXY_HOPS["cloudfront" if self.edge else "alb"]))
        self.upload.container.add_environment("PHOTOLANE_SMS_COUNTRIES", config.sms_countries)
        self.processor = WorkerService(
            self, "Processor", name="processor", cluster=cluster,
            image=image(self, "processor", config.tag, config.registry), queue=self.data.jobs.queue,
            environment=common, scaling=config.processor, size=TaskSize(cpu=1024, memory=2048),
            stop_timeout=Duration.seconds(120),
        )
        self.data.schedule_retention_sweeps()  # hourly, on the jobs queue: wakes a processor scaled to zero
        self.notifier = WorkerService(
            self, "Notifier", name="notifier", cluster=cluster,
            image=image(self, "notifier", config.tag, config.registry), queue=self.data.notifications.queue,
            environment={**common, "PHOTOLANE_PUBLIC_URL": self.public_url,
                         "PHOTOLANE_SMS_COUNTRIES": config.sms_countries,
                         "PHOTOLANE_EVENTS_TOPIC_ARN": self.data.events_topic.topic_arn,
                         # The SMS ceiling's month (none: the account's limit left alone, the services' 1 USD)
                         **({"PHOTOLANE_SMS_MONTHLY_BUDGET_USD": str(config.sms_monthly_limit_usd)}
                            if config.sms_monthly_limit_usd is not None else {})},
            scaling=config.notifier, size=TaskSize(cpu=256, memory=512),
            stop_timeout=Duration.seconds(30),
        )
        self._grant_upload(self.upload.task_role)
        self._grant_processor(self.processor.task_role)
        self._grant_notifier(self.notifier.task_role, config.email_from)
        self.alarms = Alarms(self, "Alarms", queues={"Jobs": self.data.jobs, "Notifications": self.data.notifications},
                             email=config.alarm_email)
        if config.sms_monthly_limit_usd is not None:
            self.alarms.limit_sms_spend(config.sms_monthly_limit_usd)
        self.alarms.watch_failures(NAMESPACE)
        self.alarms.watch_sms_ceiling(NAMESPACE)
        self.dashboard = Dashboard(self, "Dashboard", namespace=NAMESPACE, alarms=self.alarms.alarms,
                                   queues={"Jobs": self.data.jobs, "Notifications": self.data.notifications})
        CfnOutput(self, "DashboardName", value=self.dashboard.name,
                  description="the CloudWatch dashboard of photolane's figures (the admin page shows them locally)")
        self._outputs()
        nag.acknowledge(self)

    # -- least privilege, one task role per service ---------------------------------------------------
    def _grant_upload(self, role: iam.IRole) -> None:
        """Stores originals and enrollment photos, presigns every image, reads and writes the records,
        queues jobs (uploads, enrollments, deletions) and sign-in links; the admin page's queue work:
        depths, purge, and redrive (receive from a dead-letter queue, send back, delete). Every grant of the
        three roles is checked against the calls the services make (deploy/README.md, "How the grants are
        proven")."""
        data = self.data
        data.grant_objects(role, ["s3:PutObject"], [ORIGINALS, PEOPLE])
        data.grant_objects(role, ["s3:GetObject"], IMAGE_PREFIXES)  # the presigned URLs act as this role
        dynamodb = {
            data.photos_table: ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Scan"],
            data.people_table: ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan"],
            # switches, limits, sign-ins, sessions; upload links (DeleteItem: a revoked one)
            data.settings_table: ["GetItem", "PutItem", "UpdateItem", "DeleteItem"],
            data.faces_table: ["GetItem", "Query", "UpdateItem"],  # a person's photos; a cluster hidden, shown
            data.collections_table: ["GetItem", "PutItem", "Scan"],  # made, read, listed; links, deletion marked
        }
        for table, actions in dynamodb.items():
            iam.Grant.add_to_principal(grantee=role, actions=[f"dynamodb:{a}" for a in actions],
                                       resource_arns=[table.table_arn])
        iam.Grant.add_to_principal(grantee=role, actions=["dynamodb:Query"],  # the gallery; uncertain notifications
                                   resource_arns=[f"{data.photos_table.table_arn}/index/owner-created",
                                                  f"{data.photos_table.table_arn}/index/uncertain-deliveries"])
        iam.Grant.add_to_principal(grantee=role, actions=["dynamodb:Query"],  # unknown people; a person by name
                                   resource_arns=[f"{data.faces_table.table_arn}/index/clusters-by-size",
                                                  f"{data.people_table.table_arn}/index/people-by-name",
                                                  f"{data.people_table.table_arn}/index/people-by-collection"])
        for work in (data.jobs, data.notifications):
            iam.Grant.add_to_principal(  # depths, purge; never receive from the live queues: workers do that
                grantee=role, actions=["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SendMessage",
                                       "sqs:PurgeQueue"],
                resource_arns=[work.queue.queue_arn])
            iam.Grant.add_to_principal(  # depths, purge, redrive
                grantee=role, actions=["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
                                       "sqs:DeleteMessage", "sqs:PurgeQueue"],
                resource_arns=[work.dead_letters.queue_arn])

    def _grant_processor(self, role: iam.IRole) -> None:
        """Reads originals (uploads, drop-ins, enrollment photos), writes what it makes, updates the
        records and files each face under its group, keeps snapshots of its face indexes (index/), sends
        notifications and stats answers, erases deleted photos (theirs: a drop-in's original under
        incoming/ too), people and collections. Receiving its jobs is the pattern's own grant."""
        data = self.data
        sources = [ORIGINALS, INCOMING_PREFIX, PEOPLE, FACES]  # faces/: a named face's picture for the person
        data.grant_objects(role, ["s3:GetObject"], sources)
        data.grant_list(role)  # a vanished original must read as missing, not as denied
        data.grant_objects(role, ["s3:PutObject"], [FLIPPED, THUMBS, RESULTS, FACES, PEOPLE])
        # deleted photos (a drop-in's original is its incoming/ key), people and collections erased
        data.grant_objects(role, ["s3:DeleteObject"],
                           [ORIGINALS, INCOMING_PREFIX, FLIPPED, THUMBS, RESULTS, FACES, PEOPLE])
        data.grant_objects(role, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [INDEX])  # face index snapshots
        dynamodb = {  # photos: records of drop-ins, status, faces; people: the known encodings (Scan and
            # UpdateItem: the first load of the default collection marks the people from before collections)
            # DeleteItem: a deleted collection's photos, people, feeds and upload links; a merge
            data.photos_table: ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem"],
            data.people_table: ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan"],
            # change feeds; Scan: an erased photo's mentions (feed entries made tombstones, the rest deleted)
            data.settings_table: ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem",
                                  "BatchWriteItem", "Scan"],
            data.collections_table: ["GetItem", "DeleteItem"],  # a collection being deleted, erased last
            # each face under its group; each cluster's summary (read in batches; a conditional put or
            # delete: its count)
            data.faces_table: ["GetItem", "BatchGetItem", "PutItem", "DeleteItem", "BatchWriteItem", "Query"],
        }
        for table, actions in dynamodb.items():
            iam.Grant.add_to_principal(grantee=role, actions=[f"dynamodb:{a}" for a in actions],
                                       resource_arns=[table.table_arn])
        iam.Grant.add_to_principal(  # unknown faces' and a collection's people's first load; reconciler; erasure
            grantee=role, actions=["dynamodb:Query"],  # owner-created: an owner's "delete all my photos"
            resource_arns=[f"{data.photos_table.table_arn}/index/owner-created",
                           f"{data.photos_table.table_arn}/index/unknown-faces",
                           f"{data.photos_table.table_arn}/index/pending-updated",
                           f"{data.photos_table.table_arn}/index/photos-by-collection",
                           f"{data.people_table.table_arn}/index/people-by-collection"])
        iam.Grant.add_to_principal(
            grantee=role, actions=["sqs:GetQueueUrl", "sqs:SendMessage"],
            resource_arns=[data.notifications.queue.queue_arn,
                           data.jobs.queue.queue_arn,  # the reconciler sends a lost job again
                           data.jobs.dead_letters.queue_arn],  # unreadable messages are moved there at once
        )
        iam.Grant.add_to_principal(
            grantee=role, actions=["sqs:SendMessage", "sqs:GetQueueUrl"],
            resource_arns=[f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:{Aws.ACCOUNT_ID}:{REPLY_QUEUE_PREFIX}*"],
        )
        if data.retention_days:  # the sweep: photos created before the cutoff, and once, the older records sharded
            iam.Grant.add_to_principal(grantee=role, actions=["dynamodb:Query"],
                                       resource_arns=[f"{data.photos_table.table_arn}/index/shard-created"])
            iam.Grant.add_to_principal(grantee=role, actions=["dynamodb:Scan"],
                                       resource_arns=[data.photos_table.table_arn])

    def _grant_notifier(self, role: iam.IRole, email_from: str) -> None:
        """Claims and records deliveries on the photo record, names the people in it, decides whether a
        sign-in link goes (the owner's newest photo), claims, throttles and counts sign-in links and
        counts each recipient's messages in the settings table, keeps the batches there (one message for a
        recipient's photos of a window), texts (SNS), mails (SES), publishes events. Receiving its
        notifications is the pattern's own grant."""
        data = self.data
        dynamodb = {
            data.photos_table: ["GetItem", "UpdateItem", "BatchGetItem"],  # BatchGetItem: a batch's photos
            data.people_table: ["BatchGetItem"],
            # once-only claims, the sign-in throttle; daily limits; the batches (read, opened, joined, claimed)
            data.settings_table: ["GetItem", "PutItem", "UpdateItem"],
        }
        for table, actions in dynamodb.items():
            iam.Grant.add_to_principal(grantee=role, actions=[f"dynamodb:{a}" for a in actions],
                                       resource_arns=[table.table_arn])
        iam.Grant.add_to_principal(grantee=role, actions=["dynamodb:Query"],  # a sign-in's owner: the newest photo
                                   resource_arns=[f"{data.photos_table.table_arn}/index/owner-created"])
        iam.Grant.add_to_principal(  # unreadable messages are moved there at once
            grantee=role, actions=["sqs:GetQueueUrl", "sqs:SendMessage"],
            resource_arns=[data.notifications.dead_letters.queue_arn])
        iam.Grant.add_to_principal(  # a channel held by a live claim: the message back as a delayed copy (RetryLater)
            grantee=role, actions=["sqs:SendMessage"], resource_arns=[data.notifications.queue.queue_arn])
        data.events_topic.grant_publish(role)  # the one topic it may publish to
        # An SMS is published to a phone number, which has no ARN, so no Resource can name it: the grant is
        # every resource that is NOT an SNS ARN (phone numbers), never another topic or a platform endpoint.
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["sns:Publish"], not_resources=[f"arn:{Aws.PARTITION}:sns:*:*:*"]))
        # In the SES sandbox the recipients' identities are checked too, so the resource is every
        # identity of the account; the sender is pinned by the condition.
        iam.Grant.add_to_principal(
            grantee=role, actions=["ses:SendEmail"],
            resource_arns=[f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:identity/*"],
            conditions={"StringEquals": {"ses:FromAddress": email_from}},
        )

    def _outputs(self) -> None:
        CfnOutput(self, "Url", value=self.public_url,
                  description="photolane's address (HTTPS: CloudFront, or the ALB with its certificate)")
        CfnOutput(self, "AdminTokenSecret", value=self.upload.admin_token.secret_arn,
                  description="aws secretsmanager get-secret-value --secret-id <this> --query SecretString")
        for key, value in self.data.environment().items():
            if key != "PHOTOLANE_REGION":
                CfnOutput(self, key.removeprefix("PHOTOLANE_").title().replace("_", ""), value=value)
