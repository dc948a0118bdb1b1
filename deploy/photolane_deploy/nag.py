"""cdk-nag (AwsSolutions pack): every finding that stays is acknowledged here, each with its reason.

Wildcard findings (IAM5) are acknowledged one pattern at a time (``applies_to``), never the rule as
a whole, so a new wildcard in a task role still fails the synth and the tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

if TYPE_CHECKING:
    from .stack import PhotolaneStack

OBJECT_PREFIXES = (
    "Resource::<DataBucket[0-9A-F]{8}\\.Arn>\\/(originals|incoming|people|flipped|thumbs|results|index|faces)\\/\\*"
)


def _pattern(regex: str) -> RegexAppliesTo:
    return RegexAppliesTo(regex=f"/^{regex}$/g")


def _iam5(reason: str, *applies_to: str | RegexAppliesTo) -> NagPackSuppression:
    return NagPackSuppression(id="AwsSolutions-IAM5", reason=reason, applies_to=list(applies_to))


OBJECTS = _iam5(
    "Objects under the key prefixes this service works on (object keys are made per photo); "
    "no other prefix and no bucket-wide action",
    _pattern(OBJECT_PREFIXES))
REPLY_QUEUES = _iam5(
    "Stats answers go to reply queues the command-line client creates on demand; only the "
    "photolane-replies- prefix, only SendMessage and GetQueueUrl",
    "Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:photolane-replies-*")
SMS = _iam5(
    "sns:Publish to a phone number (SMS): a phone number has no ARN, so IAM only accepts Resource '*' "
    "for it; the action is sns:Publish alone",
    "Resource::*")
EMAIL = _iam5(
    "ses:SendEmail: in the SES sandbox the recipients' identities are authorized too, so the resource is "
    "the account's identities; the condition ses:FromAddress pins the sender to PHOTOLANE_EMAIL_FROM",
    "Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*")
ECR_LOGIN = _iam5(
    "Execution role (not a task role): ecr:GetAuthorizationToken has no resource-level permission; "
    "pulling is granted on the three photolane repositories only",
    "Resource::*")
SET_SMS_ATTRIBUTES = _iam5(
    "sns:SetSMSAttributes (the account's SMS spend limit, set by a custom resource when it changes) has no "
    "resource-level permission: IAM only accepts Resource '*' for it; the action is that one alone",
    "Resource::*")
DESCRIBE_PREFIX_LISTS = _iam5(
    "ec2:DescribeManagedPrefixLists (finding CloudFront's origin-facing prefix list at deploy time) has no "
    "resource-level permission: IAM only accepts Resource '*' for it; the action is that one, read-only",
    "Resource::*")
CUSTOM_RESOURCE_LOGS = NagPackSuppression(
    id="AwsSolutions-IAM4",
    reason="CDK's AwsCustomResource provider (a Lambda run by CloudFormation at deploy time) writes its logs "
           "with AWSLambdaBasicExecutionRole (CreateLogGroup, CreateLogStream, PutLogEvents); its API calls "
           "are granted separately, one action each",
    applies_to=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"  # AwsCustomResource's singleton Lambda
ENVIRONMENT = NagPackSuppression(
    id="AwsSolutions-ECS2",
    reason="The environment holds only resource names and plain settings (the PHOTOLANE_* variables the "
           "services read); the admin token and session key are ECS secrets from Secrets Manager")


def _acknowledge(construct: IConstruct, *suppressions: NagPackSuppression) -> None:
    NagSuppressions.add_resource_suppressions(construct, list(suppressions), apply_to_children=True)


def acknowledge(stack: PhotolaneStack) -> None:
    """The acknowledged findings of the photolane stack."""
    upload, processor, notifier = stack.upload, stack.processor, stack.notifier
    _acknowledge(upload.task_role, OBJECTS)
    _acknowledge(processor.task_role, OBJECTS, REPLY_QUEUES)
    _acknowledge(notifier.task_role, SMS, EMAIL)
    for task_definition in (upload.service.task_definition, processor.service.task_definition,
                            notifier.service.task_definition):
        _acknowledge(task_definition.obtain_execution_role(), ECR_LOGIN)
        _acknowledge(task_definition, ENVIRONMENT)
    if stack.edge is None:  # behind CloudFront the ALB's security group admits CloudFront's addresses only
        _acknowledge(upload.service.load_balancer, NagPackSuppression(
            id="AwsSolutions-EC23",
            reason="The public entrance: the ALB listens on 443 (HTTPS) and 80 (redirected to HTTPS) for "
                   "everyone; the tasks accept traffic from the ALB's security group only"))
    else:
        _acknowledge_cloudfront(stack)
    provider = stack.node.try_find_child(CUSTOM_RESOURCE_PROVIDER)
    if provider is not None:
        _acknowledge(provider, CUSTOM_RESOURCE_LOGS)
    if stack.alarms.sms_spend_limit is not None:
        _acknowledge(stack.alarms.sms_spend_limit, SET_SMS_ATTRIBUTES)
    for secret in (upload.admin_token, upload.session_key):
        _acknowledge(secret, NagPackSuppression(
            id="AwsSolutions-SMG4",
            reason="A random value generated by CloudFormation, read by upload at start; a scheduled rotation "
                   "would need a rotation Lambda and a redeploy to take effect. Rotate by hand (deploy/README.md)"))
    if not stack.config.container_insights:
        _acknowledge(stack.cluster, NagPackSuppression(
            id="AwsSolutions-ECS4",
            reason="Off by default for the idle cost (per-task metrics are billed as custom metrics); the "
                   "services' CPU and memory metrics remain. Opt in with -c container_insights=true"))


def _acknowledge_cloudfront(stack: PhotolaneStack) -> None:
    """CloudFront in front of the ALB when no certificate is given (edge.py)."""
    edge = stack.edge
    assert edge is not None
    _acknowledge(edge.prefix_list_lookup, DESCRIBE_PREFIX_LISTS)
    _acknowledge(edge.origin_secret, NagPackSuppression(
        id="AwsSolutions-SMG4",
        reason="A random value generated by CloudFormation, resolved at deploy time into both CloudFront's origin "
               "header and the ALB's listener rule; a scheduled rotation would change neither until the next "
               "deploy. It is no user credential: it only tells the ALB a request came through CloudFront"))
    _acknowledge(edge.distribution, NagPackSuppression(
        id="AwsSolutions-CFR1",
        reason="No country is excluded from the site: who may upload and see photos is decided by the app "
               "(sessions, sign-in links, admin token); where SMS may go is PHOTOLANE_SMS_COUNTRIES"
    ), NagPackSuppression(
        id="AwsSolutions-CFR2",
        reason="The web ACL is REGIONAL, on the ALB (WebFirewall, rate-limited on the viewer's address): nothing is "
               "cached, so it sees every request CloudFront forwards. A CLOUDFRONT-scope ACL must be made in "
               "us-east-1, not in the stack's region"
    ), NagPackSuppression(
        id="AwsSolutions-CFR3",
        reason="CloudFront's standard logs need a bucket with ACLs, which the log bucket disables (bucket owner "
               "enforced). Nothing is cached: every request but CloudFront's own HTTP-to-HTTPS redirects reaches "
               "the ALB, whose access logs are in the log bucket, and WAF keeps metrics and sampled requests"
    ), NagPackSuppression(
        id="AwsSolutions-CFR4",
        reason="Without a domain of one's own the viewer certificate is CloudFront's default *.cloudfront.net one, "
               "whose security policy CloudFront fixes (TLSv1 minimum, modern clients negotiate TLS 1.2/1.3). "
               "With certificate_arn photolane is served by the ALB's HTTPS listener (RECOMMENDED_TLS) instead"
    ), NagPackSuppression(
        id="AwsSolutions-CFR5",
        reason="The ALB has no certificate here (ACM issues none for *.elb.amazonaws.com, and there is no domain "
               "of one's own), so CloudFront reaches it over HTTP on port 80, unencrypted on that leg only; the ALB "
               "admits CloudFront's addresses alone and serves only requests carrying the secret origin header. "
               "Give certificate_arn for HTTPS up to the ALB"))
