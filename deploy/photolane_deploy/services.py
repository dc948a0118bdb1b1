"""One construct per kind of service: upload behind the ALB, and a queue worker (processor, notifier).

Each runs its image from ``make push`` (ECR ``photolane/<service>:<tag>``) in the public subnets with a
public IP and no inbound rule but the ALB's to upload: no NAT gateway to pay for (see README). Behind
CloudFront the ALB itself is internal, in subnets with no route to the internet (edge.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .config import REPOSITORY_PREFIX, Scaling

PUBLIC = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
UPLOAD_PORT = 5000  # PHOTOLANE_PORT in the upload image


@dataclass(frozen=True)
class TaskSize:
    cpu: int  # CPU units (1024 = one vCPU)
    memory: int  # MiB


def image(scope: Construct, service: str, tag: str, registry: str | None) -> ecs.ContainerImage:
    """The pushed image: ECR of this account (the execution role may pull it), or any registry."""
    if registry:
        return ecs.ContainerImage.from_registry(f"{registry}/{REPOSITORY_PREFIX}/{service}:{tag}")
    name = f"{REPOSITORY_PREFIX}/{service}"
    repository = ecr.Repository.from_repository_name(scope, f"{service.title()}Repository", name)
    return ecs.ContainerImage.from_ecr_repository(repository, tag)


def log_driver(scope: Construct, service: str) -> ecs.LogDriver:
    group = logs.LogGroup(scope, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY)
    return ecs.LogDrivers.aws_logs(stream_prefix=service, log_group=group)


def secret(scope: Construct, id: str, description: str) -> secretsmanager.Secret:
    """A random value made by CloudFormation itself: it never appears in the template or in git."""
    return secretsmanager.Secret(
        scope, id,
        description=description,
        generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
    )


class UploadService(Construct):
    """Flask/gunicorn behind an ALB: health check /healthz, HTTPS when a certificate is given,
    scaled on requests per task. The admin token and session key come from Secrets Manager.

    ``internal_subnets``: the ALB is internal (no public address), in those subnets, with no open
    inbound rule: the edge in front (edge.py) reaches it through a CloudFront VPC origin and opens its
    security group to CloudFront alone. None: an internet-facing ALB in the public subnets, open to all."""

    def __init__(self, scope: Construct, id: str, *, cluster: ecs.ICluster, image: ecs.ContainerImage,
                 environment: dict[str, str], scaling: Scaling, size: TaskSize, logs_bucket: s3.IBucket,
                 certificate_arn: str | None = None, internal_subnets: list[ec2.ISubnet] | None = None) -> None:
        super().__init__(scope, id)
        internal = (elbv2.ApplicationLoadBalancer(
            self, "InternalLB", vpc=cluster.vpc, internet_facing=False,
            vpc_subnets=ec2.SubnetSelection(subnets=internal_subnets)) if internal_subnets else None)
        self.admin_token = secret(self, "AdminToken", "photolane: bearer token of the admin routes")
        self.session_key = secret(self, "SessionKey", "photolane: key that signs the upload service's sessions")
        certificate = (acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
                       if certificate_arn else None)
        self.service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self, "Service",
            cluster=cluster,
            cpu=size.cpu, memory_limit_mib=size.memory,
            desired_count=max(scaling.minimum, 1),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=image,
                container_name="upload",
                container_port=UPLOAD_PORT,
                environment=environment,
                secrets={
                    "PHOTOLANE_ADMIN_TOKEN": ecs.Secret.from_secrets_manager(self.admin_token),
                    "PHOTOLANE_SESSION_KEY": ecs.Secret.from_secrets_manager(self.session_key),
                },
                log_driver=log_driver(self, "upload"),
            ),
            public_load_balancer=internal is None,
            load_balancer=internal,  # None: the pattern's own, internet-facing in the public subnets
            open_listener=internal is None,
            assign_public_ip=True,
            task_subnets=PUBLIC,
            certificate=certificate,
            protocol=elbv2.ApplicationProtocol.HTTPS if certificate else elbv2.ApplicationProtocol.HTTP,
            redirect_http=bool(certificate),
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS if certificate else None,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
            health_check_grace_period=Duration.seconds(60),
        )
        target_group = self.service.target_group
        target_group.configure_health_check(path="/healthz", healthy_http_codes="200", interval=Duration.seconds(15))
        target_group.set_attribute("deregistration_delay.timeout_seconds", "30")  # requests are short
        load_balancer = self.service.load_balancer
        load_balancer.set_attribute("routing.http.drop_invalid_header_fields.enabled", "true")
        load_balancer.log_access_logs(logs_bucket, prefix="alb")
        self.task_role = self.service.task_definition.task_role
        self.container = self.service.task_definition.default_container
        self.scaling = self.service.service.auto_scale_task_count(
            min_capacity=max(scaling.minimum, 1), max_capacity=scaling.maximum)
        self.scaling.scale_on_request_count(
            "RequestsPerTask", requests_per_target=300, target_group=target_group,
            scale_in_cooldown=Duration.minutes(5), scale_out_cooldown=Duration.minutes(1))

    @property
    def url(self) -> str:
        scheme = "https" if self.service.certificate else "http"
        return f"{scheme}://{self.service.load_balancer.load_balancer_dns_name}"


class WorkerService(Construct):
    """An SQS worker (the shared worker loop) scaled on its queue's depth, from ``minimum`` tasks
    (zero: idle costs nothing) to ``maximum``. A task stopped by scale-in finishes the message in hand."""

    def __init__(self, scope: Construct, id: str, *, name: str, cluster: ecs.ICluster, image: ecs.ContainerImage,
                 queue: sqs.IQueue, environment: dict[str, str], scaling: Scaling, size: TaskSize,
                 stop_timeout: Duration) -> None:
        super().__init__(scope, id)
        health_file = f"/tmp/photolane-{name}.health"  # as in the image's HEALTHCHECK
        self.service = ecs_patterns.QueueProcessingFargateService(
            self, "Service",
            cluster=cluster,
            cpu=size.cpu, memory_limit_mib=size.memory,
            image=image,
            container_name=name,
            queue=queue,
            environment={**environment, "PHOTOLANE_HEALTH_FILE": health_file},
            log_driver=log_driver(self, name),
            assign_public_ip=True,
            task_subnets=PUBLIC,
            min_scaling_capacity=scaling.minimum,
            max_scaling_capacity=scaling.maximum,
            # Messages waiting: one more task at 1, three more at 50; none waiting: one less.
            scaling_steps=[
                appscaling.ScalingInterval(upper=0, change=-1),
                appscaling.ScalingInterval(lower=1, change=+1),
                appscaling.ScalingInterval(lower=50, change=+3),
            ],
            cooldown=Duration.minutes(2),
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-m", "photolane_common.health", health_file, "--max-age", "90"],
                interval=Duration.seconds(15), timeout=Duration.seconds(5), retries=3,
                start_period=Duration.seconds(60),
            ),
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
        )
        # The worker finishes the message in hand on SIGTERM; give it time before SIGKILL.
        task: ecs.CfnTaskDefinition = self.service.task_definition.node.default_child  # type: ignore[assignment]
        task.add_property_override("ContainerDefinitions.0.StopTimeout", int(stop_timeout.to_seconds()))
        self.task_role = self.service.task_definition.task_role
