"""Safe on the internet: HTTPS in every deployment (CloudFront in front of the ALB, or the ALB's own
certificate), the ALB internal and reachable only through CloudFront's VPC origin, CloudFront's and WAF's
logs, WAF on the ALB, the SMS spend limit and its alarm, the settings table's TTL, and what the services
are told about the proxies and SMS countries."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from photolane_common.settings import CommonSettings
from photolane_deploy.config import DEFAULT_SMS_COUNTRIES, DeployConfig
from photolane_deploy.edge import (
    CLOUDFRONT_PREFIX_LIST,
    LOG_RETENTION_DAYS,
    ORIGIN_CIDR,
    VIEWER_IP_FUNCTION,
    VIEWER_IP_HEADER,
    WAF_LOG_GROUP_PREFIX,
    WAF_REDACTED_HEADERS,
)

from .conftest import Synthesized, synthesize
from .test_stack import container, logical_id

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed cache policy CachingDisabled
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # managed origin request policy


def environment(synth: Synthesized, name: str) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container(synth, name)["Environment"]}


def only(synth: Synthesized, kind: str) -> tuple[str, dict[str, Any]]:
    resources = synth.resources(kind)
    assert len(resources) == 1, (kind, list(resources))
    return next(iter(resources.items()))


def load_balancer(synth: Synthesized) -> str:
    """The ALB's logical id (the internal one behind CloudFront, the pattern's own with a certificate)."""
    name, _ = only(synth, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    return name


def ingress_of(synth: Synthesized, group: str) -> list[dict[str, Any]]:
    """Every inbound rule of a security group: its own and the separate ingress resources."""
    own = synth.json["Resources"][group]["Properties"].get("SecurityGroupIngress", [])
    return [*own, *(r["Properties"] for r in synth.resources("AWS::EC2::SecurityGroupIngress").values()
                    if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]})]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every new setting given (with a certificate, so the synth differs from the default in that too)."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"), {
        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111",
        "waf_rate_limit": "300", "sms_monthly_limit_usd": "25", "sms_countries": " us, de,FR "})


# -- HTTPS through CloudFront (no certificate) ------------------------------------------------------------
def test_without_a_certificate_cloudfront_serves_https_in_front_of_the_alb(synthesized: Synthesized) -> None:
    _, distribution = only(synthesized, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    assert "ViewerCertificate" not in config and "Aliases" not in config  # CloudFront's *.cloudfront.net one
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["CachePolicyId"] == CACHING_DISABLED  # every response is private or dynamic
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER  # headers, cookies, query strings
    assert set(behavior["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert "CacheBehaviors" not in config  # one behavior for every path
    [origin] = config["Origins"]
    alb = load_balancer(synthesized)
    assert origin["DomainName"] == {"Fn::GetAtt": [alb, "DNSName"]}
    # A VPC origin: CloudFront reaches the ALB inside the VPC, never over the internet.
    assert "CustomOriginConfig" not in origin and "OriginCustomHeaders" not in origin  # no shared secret either
    vpc_origin_id, vpc_origin = only(synthesized, "AWS::CloudFront::VpcOrigin")
    assert origin["VpcOriginConfig"] == {"VpcOriginId": {"Fn::GetAtt": [vpc_origin_id, "Id"]},
                                         "OriginReadTimeout": 60}  # an upload of ~21 MB is then judged
    endpoint = vpc_origin["Properties"]["VpcOriginEndpointConfig"]
    assert endpoint["Arn"] == {"Ref": alb}
    assert (endpoint["OriginProtocolPolicy"], endpoint["HTTPPort"]) == ("http-only", 80)


def test_the_public_url_is_cloudfronts_https_address(synthesized: Synthesized) -> None:
    distribution, _ = only(synthesized, "AWS::CloudFront::Distribution")
    url = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}
    assert synthesized.json["Outputs"]["Url"]["Value"] == url
    for service in ("upload", "notifier"):
        assert environment(synthesized, service)["PHOTOLANE_PUBLIC_URL"] == url, service


def test_the_alb_is_internal_in_subnets_with_no_route_to_the_internet(synthesized: Synthesized) -> None:
    alb = load_balancer(synthesized)
    properties = synthesized.json["Resources"][alb]["Properties"]
    assert properties["Scheme"] == "internal"  # no public address at all
    subnets = {ref["Ref"] for ref in properties["Subnets"]}
    assert len(subnets) == 2 and all(name.startswith("OriginSubnets") for name in subnets)
    _, block = only(synthesized, "AWS::EC2::VPCCidrBlock")  # a secondary block: the public subnets unchanged
    assert block["Properties"]["CidrBlock"] == ORIGIN_CIDR
    for subnet in subnets:
        assert synthesized.json["Resources"][subnet]["Properties"]["MapPublicIpOnLaunch"] is False
        assert synthesized.json["Resources"][subnet]["DependsOn"] == [next(iter(synthesized.resources(
            "AWS::EC2::VPCCidrBlock")))]
    tables = {a["Properties"]["RouteTableId"]["Ref"] for a in synthesized.resources(
        "AWS::EC2::SubnetRouteTableAssociation").values() if a["Properties"]["SubnetId"]["Ref"] in subnets}
    assert len(tables) == 2
    routes = [r["Properties"] for r in synthesized.resources("AWS::EC2::Route").values()
              if r["Properties"]["RouteTableId"]["Ref"] in tables]
    assert not routes, routes  # only the VPC's own local route: no internet gateway, no NAT
    tasks = [s["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
             for s in synthesized.resources("AWS::ECS::Service").values()]
    assert all(not {ref["Ref"] for ref in used} & subnets for used in tasks)  # the tasks stay where they were

    # The listener forwards everything to upload: only CloudFront can reach it, so no secret header.
    _, listener = only(synthesized, "AWS::ElasticLoadBalancingV2::Listener")
    assert (listener["Properties"]["Protocol"], listener["Properties"]["Port"]) == ("HTTP", 80)
    target_group = logical_id(synthesized, "AWS::ElasticLoadBalancingV2::TargetGroup", "Upload")
    assert listener["Properties"]["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": target_group}}]
    synthesized.template.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", 0)
    assert not [name for name in synthesized.resources("AWS::SecretsManager::Secret") if "Edge" in name]


def test_only_cloudfront_can_connect_to_the_alb(synthesized: Synthesized) -> None:
    group = logical_id(synthesized, "AWS::EC2::SecurityGroup", "UploadInternalLBSecurityGroup")
    ingress = ingress_of(synthesized, group)
    assert len(ingress) == 1 and "CidrIp" not in ingress[0] and "CidrIpv6" not in ingress[0]  # never 0.0.0.0/0
    assert (ingress[0]["FromPort"], ingress[0]["ToPort"]) == (80, 80)
    lookup, attribute = ingress[0]["SourcePrefixListId"]["Fn::GetAtt"]
    assert attribute == "PrefixLists.0.PrefixListId"
    call = json.loads(synthesized.json["Resources"][lookup]["Properties"]["Create"])
    assert (call["service"], call["action"]) == ("EC2", "describeManagedPrefixLists")
    assert call["parameters"]["Filters"] == [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}]


def test_cloudfront_logs_every_request_to_a_private_bucket_kept_90_days(synthesized: Synthesized) -> None:
    _, distribution = only(synthesized, "AWS::CloudFront::Distribution")
    logging = distribution["Properties"]["DistributionConfig"]["Logging"]
    bucket_id = logical_id(synthesized, "AWS::S3::Bucket", "EdgeLogs")
    assert logging == {"Bucket": {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}, "IncludeCookies": False,
                       "Prefix": "cloudfront/"}  # the session cookie is never logged
    bucket = synthesized.json["Resources"][bucket_id]
    properties = bucket["Properties"]
    assert properties["LifecycleConfiguration"] == {"Rules": [{"ExpirationInDays": LOG_RETENTION_DAYS,
                                                                "Status": "Enabled"}]}
    assert LOG_RETENTION_DAYS == 90
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    # CloudFront's standard log delivery writes with ACLs: they must be enabled, the objects the account's.
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": logical_id(synthesized, "AWS::S3::Bucket", "DataLogsBucket")}
    assert bucket["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("variant", ["synthesized", "with_certificate"])
def test_waf_logs_to_a_log_group_kept_90_days_without_credentials(variant: str,
                                                                   request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(variant)
    acl, _ = only(synth, "AWS::WAFv2::WebACL")
    group_id, group = only_waf_log_group(synth)
    assert group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS and group["DeletionPolicy"] == "Retain"
    name = group["Properties"]["LogGroupName"]["Fn::Join"]
    assert name[0] == "-" and f"{name[1][0]}-" == WAF_LOG_GROUP_PREFIX  # WAF delivers only to aws-waf-logs-*
    _, logging = only(synth, "AWS::WAFv2::LoggingConfiguration")
    properties = logging["Properties"]
    assert properties["ResourceArn"] == {"Fn::GetAtt": [acl, "Arn"]}
    [destination] = properties["LogDestinationConfigs"]
    parts = destination["Fn::Join"][1]
    assert parts[-2:] == [":log-group:", {"Ref": group_id}]  # the group's ARN, without the ":*" WAF refuses
    assert properties["RedactedFields"] == [{"SingleHeader": {"Name": header}} for header in WAF_REDACTED_HEADERS]
    assert set(WAF_REDACTED_HEADERS) == {"authorization", "cookie"}  # the admin token and the session


def only_waf_log_group(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    groups = {name: g for name, g in synth.resources("AWS::Logs::LogGroup").items() if name.startswith("Firewall")}
    assert len(groups) == 1, groups
    return next(iter(groups.items()))


def test_a_cloudfront_function_gives_the_viewers_address(synthesized: Synthesized) -> None:
    function, resource = only(synthesized, "AWS::CloudFront::Function")
    assert resource["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    _, distribution = only(synthesized, "AWS::CloudFront::Distribution")
    behavior = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [function, "FunctionARN"]}}]
    assert resource["Properties"]["FunctionCode"] == VIEWER_IP_FUNCTION


def test_the_viewer_ip_function_replaces_what_the_client_sent(tmp_path: Path) -> None:
    """The function's code, run by node (the CDK's runtime) on CloudFront's event shape."""
    event = {"viewer": {"ip": "203.0.113.9"}, "request": {"method": "POST", "uri": "/api/photos", "headers": {
        VIEWER_IP_HEADER.lower(): {"value": "198.51.100.1"}, "host": {"value": "d1.cloudfront.net"}}}}
    script = tmp_path / "run.js"
    script.write_text(f"{VIEWER_IP_FUNCTION}\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));\n")
    node = shutil.which("node")
    assert node, "node runs the CDK; it must be there"
    request = json.loads(subprocess.run([node, str(script)], check=True, capture_output=True, text=True).stdout)
    assert request["headers"][VIEWER_IP_HEADER.lower()] == {"value": "203.0.113.9"}
    assert request["headers"]["host"] == {"value": "d1.cloudfront.net"} and request["uri"] == "/api/photos"
    del event["request"]["headers"][VIEWER_IP_HEADER.lower()]  # and when the client sent none
    script.write_text(f"{VIEWER_IP_FUNCTION}\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));\n")
    request = json.loads(subprocess.run([node, str(script)], check=True, capture_output=True, text=True).stdout)
    assert request["headers"][VIEWER_IP_HEADER.lower()] == {"value": "203.0.113.9"}


def test_behind_cloudfront_the_app_trusts_two_proxies_and_sets_secure_cookies(synthesized: Synthesized) -> None:
    upload = environment(synthesized, "upload")
    assert upload["PHOTOLANE_PROXY_HOPS"] == "2"  # CloudFront, then the ALB, each append to X-Forwarded-For
    assert upload["PHOTOLANE_COOKIE_SECURE"] == "true"


# -- HTTPS on the ALB (a certificate of one's own) ------------------------------------------------------
def test_with_a_certificate_the_alb_is_the_only_proxy(with_certificate: Synthesized) -> None:
    with_certificate.template.resource_count_is("AWS::CloudFront::Distribution", 0)
    with_certificate.template.resource_count_is("AWS::CloudFront::Function", 0)
    upload = environment(with_certificate, "upload")
    assert upload["PHOTOLANE_PROXY_HOPS"] == "1" and upload["PHOTOLANE_COOKIE_SECURE"] == "true"
    assert upload["PHOTOLANE_PUBLIC_URL"] == "https://photos.example.com"
    listeners = [r["Properties"] for r in with_certificate.resources("AWS::ElasticLoadBalancingV2::Listener").values()]
    assert sorted((listener["Protocol"], listener["Port"]) for listener in listeners) == [("HTTP", 80), ("HTTPS", 443)]
    https = next(listener for listener in listeners if listener["Protocol"] == "HTTPS")
    assert https["DefaultActions"][0]["Type"] == "forward" and https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    # The ALB is the public entrance itself: internet-facing in the public subnets, no private ones made.
    properties = with_certificate.json["Resources"][load_balancer(with_certificate)]["Properties"]
    assert properties["Scheme"] == "internet-facing"
    assert all(ref["Ref"].startswith("Vpcpublic") for ref in properties["Subnets"])
    for kind in ("AWS::CloudFront::VpcOrigin", "AWS::EC2::VPCCidrBlock"):
        with_certificate.template.resource_count_is(kind, 0)


def test_with_a_certificate_but_no_domain_the_url_is_the_albs_https_address(tmp_path: Path) -> None:
    synth = synthesize(tmp_path, {"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/2"})
    url = environment(synth, "notifier")["PHOTOLANE_PUBLIC_URL"]
    assert url["Fn::Join"][1][0] == "https://" and "DNSName" in url["Fn::Join"][1][1]["Fn::GetAtt"]
    assert synth.json["Outputs"]["Url"]["Value"] == url


def test_a_domain_needs_a_certificate() -> None:
    with pytest.raises(ValueError, match="domain_name needs certificate_arn"):
        DeployConfig.from_context(App(context={"domain_name": "photos.example.com"}).node)


# -- WAF ----------------------------------------------------------------------------------------------------
def web_acl(synth: Synthesized) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    acl_id, acl = only(synth, "AWS::WAFv2::WebACL")
    _, association = only(synth, "AWS::WAFv2::WebACLAssociation")
    assert association["Properties"] == {"ResourceArn": {"Ref": load_balancer(synth)},
                                         "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}}
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL" and properties["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in properties["Rules"]}
    for visibility in [properties["VisibilityConfig"], *(rule["VisibilityConfig"] for rule in rules.values())]:
        assert visibility["CloudWatchMetricsEnabled"] is True and visibility["SampledRequestsEnabled"] is True
    return properties, rules


def test_waf_rate_limits_each_viewer_behind_cloudfront(synthesized: Synthesized) -> None:
    _, rules = web_acl(synthesized)
    rate = rules["RatePerClient"]
    assert rate["Priority"] == 0 and "Block" in rate["Action"]
    assert rate["Statement"]["RateBasedStatement"] == {
        "Limit": 1000, "EvaluationWindowSec": 300, "AggregateKeyType": "FORWARDED_IP",
        "ForwardedIPConfig": {"HeaderName": VIEWER_IP_HEADER, "FallbackBehavior": "MATCH"}}


def test_waf_rate_limits_the_source_address_without_cloudfront(tuned: Synthesized) -> None:
    _, rules = web_acl(tuned)
    assert rules["RatePerClient"]["Statement"]["RateBasedStatement"] == {
        "Limit": 300, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}  # waf_rate_limit=300


def test_waf_runs_aws_managed_rules_and_lets_photo_bodies_through(synthesized: Synthesized) -> None:
    _, rules = web_acl(synthesized)
    common = rules["AWSManagedRulesCommonRuleSet"]
    assert common["OverrideAction"] == {"None": {}}
    statement = common["Statement"]["ManagedRuleGroupStatement"]
    assert (statement["VendorName"], statement["Name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    # A photo upload is a multipart body far over the set's 8 KB: that rule only counts.
    assert statement["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    bad_inputs = rules["AWSManagedRulesKnownBadInputsRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert bad_inputs["VendorName"] == "AWS" and "RuleActionOverrides" not in bad_inputs
    assert sorted(rule["Priority"] for rule in rules.values()) == [0, 1, 2]


# -- SMS spend -----------------------------------------------------------------------------------------------
def sms_spend(synth: Synthesized) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    limits = {name: r for name, r in synth.resources("Custom::AWS").items() if "SmsSpendLimit" in name}
    assert len(limits) == 1, limits
    name, resource = next(iter(limits.items()))
    call = json.loads(resource["Properties"]["Create"])
    assert json.loads(resource["Properties"]["Update"]) == call and "Delete" not in resource["Properties"]
    policy = synth.json["Resources"][resource["DependsOn"][0]]["Properties"]["PolicyDocument"]["Statement"]
    alarms = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("MetricName") == "SMSMonthToDateSpentUSD"]
    assert len(alarms) == 1, alarms
    return call, policy, alarms[0]


def test_sms_spend_is_limited_and_alarmed_before_the_limit(synthesized: Synthesized) -> None:
    call, policy, alarm = sms_spend(synthesized)
    assert (call["service"], call["action"]) == ("SNS", "setSMSAttributes")
    assert call["parameters"] == {"attributes": {"MonthlySpendLimit": "1"}}
    assert policy == [{"Action": "sns:SetSMSAttributes", "Effect": "Allow", "Resource": "*"}]  # that alone
    assert alarm["Namespace"] == "AWS/SNS" and "Dimensions" not in alarm
    assert alarm["Threshold"] == 0.8 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # To the topic of the other alarms (mailed to alarm_email).
    dead_letters = next(a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()
                        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
                        and a["Properties"].get("AlarmActions", [{}])[0].get("Ref", "").startswith("AlarmsTopic"))
    assert alarm["AlarmActions"] == dead_letters["AlarmActions"]


def test_the_sms_spend_limit_is_a_setting(tuned: Synthesized, tmp_path: Path) -> None:
    call, _, alarm = sms_spend(tuned)
    assert call["parameters"] == {"attributes": {"MonthlySpendLimit": "25"}} and alarm["Threshold"] == 20
    untouched = synthesize(tmp_path, {"sms_monthly_limit_usd": "none"})
    assert not [name for name in untouched.resources("Custom::AWS") if "SmsSpendLimit" in name]


# -- the settings table, SMS countries, settings ------------------------------------------------------------
def test_the_settings_table_expires_its_items(synthesized: Synthesized) -> None:
    tables = {name: t["Properties"] for name, t in synthesized.resources("AWS::DynamoDB::Table").items()}
    settings = logical_id(synthesized, "AWS::DynamoDB::Table", "DataSettingsTable")
    assert tables.pop(settings)["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert not [name for name, table in tables.items() if "TimeToLiveSpecification" in table]


def test_upload_and_notifier_know_where_sms_may_go(synthesized: Synthesized, tuned: Synthesized) -> None:
    assert DEFAULT_SMS_COUNTRIES == CommonSettings.model_fields["sms_countries"].default  # the app's default
    for service in ("upload", "notifier"):
        assert environment(synthesized, service)["PHOTOLANE_SMS_COUNTRIES"] == DEFAULT_SMS_COUNTRIES
        assert environment(tuned, service)["PHOTOLANE_SMS_COUNTRIES"] == "US,DE,FR"


@pytest.mark.parametrize(("context", "message"), [
    ({"waf_rate_limit": "5"}, "waf_rate_limit must be from 10"),
    ({"sms_monthly_limit_usd": "0"}, "sms_monthly_limit_usd must be a whole number"),
    ({"sms_countries": "USA,CA"}, "sms_countries must be ISO 3166 alpha-2 codes"),
    ({"sms_countries": "US;CA"}, "sms_countries must be ISO 3166 alpha-2 codes"),
])
def test_a_wrong_setting_is_refused_at_synth(context: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeployConfig.from_context(App(context=context).node)


def test_the_defaults(synthesized: Synthesized) -> None:
    config = DeployConfig.from_context(App().node)
    assert (config.cloudfront, config.waf_rate_limit, config.sms_monthly_limit_usd, config.sms_countries) == (
        True, 1000, 1, "US,CA,GB,IE,AU,NZ")
    assert synthesized.stack.config == config.__class__(tag="0123abc")


def test_each_way_acknowledges_only_its_own_findings(synthesized: Synthesized, with_certificate: Synthesized) -> None:
    def acknowledged(synth: Synthesized) -> set[str]:
        ids = set()
        for resource in synth.json["Resources"].values():
            for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                ids.add(rule["id"])
        return ids

    assert {"AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-CFR4"} <= acknowledged(synthesized)
    # Logged (CFR3), and no origin reached over the internet with old TLS (CFR5): nothing to excuse.
    assert not {"AwsSolutions-CFR3", "AwsSolutions-CFR5"} & acknowledged(synthesized)
    assert "AwsSolutions-EC23" not in acknowledged(synthesized)  # CloudFront's addresses only: nothing to excuse
    assert "AwsSolutions-EC23" in acknowledged(with_certificate)
    assert not {i for i in acknowledged(with_certificate) if i.startswith("AwsSolutions-CFR")}
