"""The edge: HTTPS in front of upload without a domain of one's own, the web firewall on its ALB, and
their logs.

``CloudFrontEntrance`` puts a CloudFront distribution (its own ``*.cloudfront.net`` certificate) in
front of the load balancer, which is internal: it has no public address, and lives in subnets of its own
with no route to or from the internet (``OriginSubnets``). CloudFront reaches it through a CloudFront
VPC origin (network interfaces CloudFront places in those subnets), over AWS's network, never over the
internet; its security group admits CloudFront's origin-facing addresses alone. Nothing outside the VPC
can open a connection to it, so no shared secret header is needed to tell CloudFront's requests from
others. CloudFront's standard logs (the viewer's address, time, path, status) go to a log bucket of
their own, kept 90 days.

``WebFirewall`` is a WAF web ACL (REGIONAL) on the load balancer: a rate limit per client, AWS's common
rule set and its known-bad-inputs rule set, and full logs (the ``Authorization`` and ``Cookie`` headers
redacted) to a log group ``aws-waf-logs-…`` kept 90 days. Behind CloudFront the source address WAF sees
is CloudFront's, so the limit counts the viewer's address, which a CloudFront Function writes into
``X-Photolane-Viewer-Ip`` (replacing whatever the client sent under that name).
"""

from __future__ import annotations

import ipaddress

from aws_cdk import ArnFormat, Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import custom_resources as cr
from constructs import Construct

VIEWER_IP_HEADER = "X-Photolane-Viewer-Ip"  # the viewer's address, for WAF's rate limit
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"  # AWS-managed, one per region
# Through CloudFront, then the ALB: each appends to X-Forwarded-For (PHOTOLANE_PROXY_HOPS).
PROXY_HOPS = {"cloudfront": 2, "alb": 1}
ORIGIN_READ_TIMEOUT = Duration.seconds(60)  # CloudFront's most without a quota increase, as the ALB's idle timeout
# The internal ALB's subnets: a secondary block of the VPC (its 10.0.0.0/16 is all the public subnets'),
# so adding them changes nothing of the public subnets or the tasks in them. One /24 per AZ.
ORIGIN_CIDR = "10.1.0.0/22"
LOG_RETENTION_DAYS = 90  # CloudFront's and WAF's logs, as the log bucket's (ALB, VPC flow logs)
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"  # WAF delivers only to log groups named so
WAF_REDACTED_HEADERS = ("authorization", "cookie")  # the admin's bearer token, the session cookie

# cloudfront-js-2.0; header names in the event are lower case. Assigning replaces any value the client sent.
VIEWER_IP_FUNCTION = f"""\
function handler(event) {{
  var request = event.request;
  request.headers['{VIEWER_IP_HEADER.lower()}'] = {{ value: event.viewer.ip }};
  return request;
}}
"""


class OriginSubnets(Construct):
    """Subnets for the internal ALB, one in each AZ of the VPC's public subnets, with no route but the
    VPC's own (no internet gateway, no NAT): CloudFront's VPC origin places its interfaces there too."""

    def __init__(self, scope: Construct, id: str, *, vpc: ec2.IVpc) -> None:
        super().__init__(scope, id)
        block = ec2.CfnVPCCidrBlock(self, "Cidr", vpc_id=vpc.vpc_id, cidr_block=ORIGIN_CIDR)
        ranges = ipaddress.ip_network(ORIGIN_CIDR).subnets(new_prefix=24)
        self.subnets: list[ec2.ISubnet] = []
        for n, (public, cidr) in enumerate(zip(vpc.public_subnets, ranges, strict=False), start=1):
            subnet = ec2.PrivateSubnet(self, f"Subnet{n}", vpc_id=vpc.vpc_id, cidr_block=str(cidr),
                                       availability_zone=public.availability_zone, map_public_ip_on_launch=False)
            subnet.node.add_dependency(block)  # the block must be the VPC's before a subnet can use it
            self.subnets.append(subnet)


class CloudFrontEntrance(Construct):
    """CloudFront (HTTPS, HTTP redirected) in front of the pattern's internal ALB, through a VPC origin.

    Nothing is cached (every response is private or dynamic): every method, header, cookie and query
    string goes to the origin but Host (the ALB's name is the origin's); with caching disabled that
    includes Authorization (the admin API's bearer token), which an origin request policy forwards only
    then. Uploads (about 21 MB of multipart) pass: CloudFront sets no such limit on a request's body.
    """

    def __init__(self, scope: Construct, id: str, *, service: ecs_patterns.ApplicationLoadBalancedFargateService,
                 logs_bucket: s3.IBucket) -> None:
        super().__init__(scope, id)
        load_balancer, listener = service.load_balancer, service.listener
        # Only CloudFront can connect (the pattern's open rule is left out: open_listener=False), and the
        # ALB is internal: the origin-facing addresses are those CloudFront's VPC origin connects from.
        self.prefix_list_lookup = self._cloudfront_prefix_list()
        prefix_list_id = self.prefix_list_lookup.get_response_field("PrefixLists.0.PrefixListId")
        load_balancer.connections.allow_from(ec2.Peer.prefix_list(prefix_list_id), ec2.Port.tcp(_port(listener)),
                                             "CloudFront's VPC origin only (origin-facing addresses)")

        # CloudFront's standard logs: its log delivery writes objects with ACLs, so this bucket has ACLs
        # (bucket owner preferred: the objects are the account's); public access is blocked all the same.
        self.log_bucket = s3.Bucket(
            self, "Logs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # CloudFront's log delivery takes SSE-S3
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(LOG_RETENTION_DAYS))],
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="cloudfront-logs-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.viewer_ip = cloudfront.Function(
            self, "ViewerIp",
            code=cloudfront.FunctionCode.from_inline(VIEWER_IP_FUNCTION),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment=f"photolane: {VIEWER_IP_HEADER} is the viewer's address, never the client's own value",
        )
        self.distribution = cloudfront.Distribution(
            self, "Distribution",
            comment="photolane: HTTPS in front of the upload service's load balancer",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.VpcOrigin.with_application_load_balancer(
                    load_balancer,
                    # HTTP on the listener's port: the ALB has no certificate (ACM issues none for its
                    # name, and there is no domain of one's own); the leg runs over AWS's network into
                    # the private subnets, never over the internet.
                    http_port=_port(listener),
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
                    read_timeout=ORIGIN_READ_TIMEOUT,
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                function_associations=[cloudfront.FunctionAssociation(
                    function=self.viewer_ip, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)],
            ),
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            log_includes_cookies=False,  # the session cookie stays out of the logs
        )

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"

    def _cloudfront_prefix_list(self) -> cr.AwsCustomResource:
        """Finds CloudFront's origin-facing prefix list at deploy time (its id differs by region, and a
        synth-time lookup would need an account: make synth works offline)."""
        return cr.AwsCustomResource(
            self, "CloudFrontPrefixList",
            on_update=cr.AwsSdkCall(  # used for the create too
                service="EC2", action="describeManagedPrefixLists",
                parameters={"Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]},
                physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_PREFIX_LIST),
                output_paths=["PrefixLists.0.PrefixListId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements([iam.PolicyStatement(
                actions=["ec2:DescribeManagedPrefixLists"], resources=["*"])]),
            install_latest_aws_sdk=False,
        )


def _port(listener: elbv2.ApplicationListener) -> int:
    port = listener.port
    assert isinstance(port, (int, float)), port  # the pattern's port is a number, never a token
    return int(port)


class WebFirewall(Construct):
    """A REGIONAL WAF web ACL on the load balancer, with CloudWatch metrics, sampled requests and logs.

    ``client_ip_header``: where the client's address is when a proxy stands in front (CloudFront);
    None: the connection's source address.
    """

    def __init__(self, scope: Construct, id: str, *, load_balancer: elbv2.IApplicationLoadBalancer,
                 rate_limit: int, client_ip_header: str | None = None) -> None:
        super().__init__(scope, id)
        rate = wafv2.CfnWebACL.RateBasedStatementProperty(
            limit=rate_limit, evaluation_window_sec=300, aggregate_key_type="IP")
        if client_ip_header:
            # CloudFront's function always sets a valid address; a header that is not one cannot have
            # come through it, and MATCH blocks it. (A request without the header at all is not rated
            # by WAF: that would be a request not from CloudFront, which cannot reach the internal ALB.)
            rate = wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=rate_limit, evaluation_window_sec=300, aggregate_key_type="FORWARDED_IP",
                forwarded_ip_config=wafv2.CfnWebACL.ForwardedIPConfigurationProperty(
                    header_name=client_ip_header, fallback_behavior="MATCH"))
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerClient", priority=0,
                statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=rate),
                action=wafv2.CfnWebACL.RuleActionProperty(block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429))),
                visibility_config=_visibility("photolane-rate-per-client"),
            ),
            # SizeRestrictions_BODY blocks a body over 8 KB; a photo upload is a multipart body of up to
            # ~21 MB (and an enrollment photo too), so it only counts. The app limits sizes itself
            # (PHOTOLANE_MAX_UPLOAD_MB, judged by content). The set's other body rules inspect the first
            # 8 KB, all an ALB's web ACL sees of a body.
            _managed("AWSManagedRulesCommonRuleSet", 1, count_only=["SizeRestrictions_BODY"]),
            _managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
        ]
        self.web_acl = wafv2.CfnWebACL(
            self, "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility("photolane-web-acl"),
            description="photolane: rate limit per client and AWS managed rules, on the upload service ALB",
        )
        wafv2.CfnWebACLAssociation(self, "Association", resource_arn=load_balancer.load_balancer_arn,
                                   web_acl_arn=self.web_acl.attr_arn)
        self._log()

    def _log(self) -> None:
        """Every request WAF inspects, with the rule that matched and the action taken, to a log group
        (named aws-waf-logs-<stack>-<the stack id's first group>: kept after the stack is deleted, never
        in the way of a new one). The bearer token and the session cookie are redacted."""
        unique = Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
        self.log_group = logs.LogGroup(
            self, "Logs",
            log_group_name=Fn.join("-", [WAF_LOG_GROUP_PREFIX.rstrip("-"), Aws.STACK_NAME, unique]),
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # WAF takes the log group's ARN without the ":*" that its Arn attribute ends with.
        destination = Stack.of(self).format_arn(service="logs", resource="log-group",
                                                resource_name=self.log_group.log_group_name,
                                                arn_format=ArnFormat.COLON_RESOURCE_NAME)
        self.logging = wafv2.CfnLoggingConfiguration(
            self, "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[destination],
            redacted_fields=[wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                             for header in WAF_REDACTED_HEADERS],
        )


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


def _managed(name: str, priority: int, count_only: list[str] | None = None) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name, priority=priority,
        statement=wafv2.CfnWebACL.StatementProperty(managed_rule_group_statement=wafv2.CfnWebACL.
            ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name,
                rule_action_overrides=[wafv2.CfnWebACL.RuleActionOverrideProperty(
                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}))
                    for rule in count_only or []] or None,
            )),
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        visibility_config=_visibility(f"photolane-{name}"),
    )
