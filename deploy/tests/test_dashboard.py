"""The metrics dashboard and the alarms on the figures (synthesized template)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from photolane_common import metrics as m
from photolane_deploy.monitoring import FAILURE_RATE_MIN_PHOTOS, FAILURE_RATE_PERCENT, SMS_CEILING_ALARM_PERCENT
from photolane_deploy.outputs import main

from .conftest import Synthesized, synthesize


def _body(synthesized: Synthesized) -> str:
    """The dashboard's JSON body, with the tokens (queue names, region, alarm ARNs) as they are in the template."""
    (dashboard,) = synthesized.resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict) and "Fn::Join" in body:
        return "".join(part if isinstance(part, str) else json.dumps(part) for part in body["Fn::Join"][1])
    return body if isinstance(body, str) else json.dumps(body)


def _alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]


def test_one_dashboard_with_every_figure_the_services_emit(synthesized: Synthesized) -> None:
    body = _body(synthesized)
    for name in (m.UPLOADS_ACCEPTED, m.UPLOADS_REFUSED, m.RATE_LIMITED, m.SIGNIN_LINKS, m.PHOTOS_PROCESSED,
                 m.PHOTOS_FAILED, m.STAGE_MS, m.FACES_FOUND, m.FACES_NAMED, m.NOTIFICATIONS, m.SMS_SEGMENTS,
                 m.QUEUE_LAG_MS, m.MESSAGES_FAILED, m.MESSAGES_DEAD_LETTERED, m.SMS_CEILING_USED):
        assert name in body, name
    assert f'"{m.NAMESPACE}"' in body or f"{{{m.NAMESPACE}," in body
    # The by-value graphs search the dimensions exactly as they are emitted (service plus their own).
    assert '{photolane,reason,service} MetricName=\\"UploadsRefused\\"' in body
    assert '{photolane,channel,service,status} MetricName=\\"Notifications\\"' in body
    assert '{photolane,service,stage} MetricName=\\"StageMs\\"' in body
    for queue_metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage",
                         "SMSMonthToDateSpentUSD"):
        assert queue_metric in body, queue_metric
    assert '"type":"alarm"' in body  # the alarms' states


def test_the_dashboard_is_named_in_the_outputs(synthesized: Synthesized, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    (dashboard,) = synthesized.resources("AWS::CloudWatch::Dashboard")
    assert synthesized.json["Outputs"]["DashboardName"]["Value"] == {"Ref": dashboard}
    outputs = {"Photolane": {"Url": "https://d1.cloudfront.net", "AdminTokenSecret": "arn:secret", "Bucket": "b",
                             "JobsQueue": "q", "DashboardName": "Photolane-Dashboard-1"}}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    main(str(tmp_path / "outputs.json"))  # what make deploy prints
    assert "the CloudWatch dashboard Photolane-Dashboard-1" in capsys.readouterr().out


def test_the_services_emit_in_the_dashboards_namespace(synthesized: Synthesized) -> None:
    for definition in synthesized.resources("AWS::ECS::TaskDefinition").values():
        for container in definition["Properties"]["ContainerDefinitions"]:
            env = {e["Name"]: e["Value"] for e in container.get("Environment", [])}
            assert env["PHOTOLANE_METRICS_NAMESPACE"] == m.NAMESPACE
            assert "PHOTOLANE_METRICS_COUNTERS" not in env  # on AWS the figures are CloudWatch's


def test_an_alarm_on_the_photo_failure_rate(synthesized: Synthesized) -> None:
    (alarm,) = [a for a in _alarms(synthesized) if "Metrics" in a
                and any("failed / (processed + failed)" in q.get("Expression", "") for q in a["Metrics"])]
    assert alarm["Threshold"] == FAILURE_RATE_PERCENT == 5
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] and alarm["TreatMissingData"] == "notBreaching"
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    assert f">= {FAILURE_RATE_MIN_PHOTOS}" in next(q["Expression"] for q in queries.values() if "Expression" in q)
    for name, id in ((m.PHOTOS_PROCESSED, "processed"), (m.PHOTOS_FAILED, "failed")):
        stat = queries[id]["MetricStat"]
        assert stat["Metric"]["Namespace"] == m.NAMESPACE and stat["Metric"]["MetricName"] == name
        assert stat["Metric"]["Dimensions"] == [{"Name": "service", "Value": "processor"}]
        assert stat["Period"] == 900 and stat["Stat"] == "Sum"


def test_alarms_on_the_oldest_job_and_the_sms_spend(synthesized: Synthesized) -> None:
    alarms = _alarms(synthesized)
    oldest = [a for a in alarms if a.get("MetricName") == "ApproximateAgeOfOldestMessage"]
    assert len(oldest) == 2 and all(a["Threshold"] == 1800 for a in oldest)  # jobs and notifications
    (spend,) = [a for a in alarms if a.get("MetricName") == "SMSMonthToDateSpentUSD"]
    assert spend["Namespace"] == "AWS/SNS" and spend["Threshold"] == 0.8  # 80 % of the default 1 USD limit


def _of_notifier(alarm: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def test_alarms_before_and_at_the_sms_ceiling_shown_on_the_dashboard(synthesized: Synthesized) -> None:
    alarms = {name: a["Properties"] for name, a in synthesized.resources("AWS::CloudWatch::Alarm").items()}
    (near,) = [(n, a) for n, a in alarms.items() if a.get("MetricName") == m.SMS_CEILING_USED]
    name, alarm = near
    assert alarm["Namespace"] == m.NAMESPACE and _of_notifier(alarm) == {"service": "notifier"}
    assert alarm["Statistic"] == "Maximum" and alarm["Period"] == 300
    assert alarm["Threshold"] == SMS_CEILING_ALARM_PERCENT == 80  # of the day's, before any SMS has to wait
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] and alarm["OKActions"]
    assert alarm["TreatMissingData"] == "ignore"  # emitted with each SMS: quiet hours keep the state
    (deferred,) = [(n, a) for n, a in alarms.items() if a.get("MetricName") == m.NOTIFICATIONS]
    deferred_name, deferred_alarm = deferred
    assert _of_notifier(deferred_alarm) == {"service": "notifier", "channel": "sms", "status": "deferred"}
    assert deferred_alarm["Statistic"] == "Sum" and deferred_alarm["Threshold"] == 1  # any SMS made to wait
    assert deferred_alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert deferred_alarm["TreatMissingData"] == "notBreaching"  # none deferred lately: OK again

    body = _body(synthesized)
    assert "SMS ceiling (every recipient together)" in body
    assert f'"value":{SMS_CEILING_ALARM_PERCENT}' in body  # the alarm's line on the graph
    assert '"status","deferred"' in body and '"stat":"Maximum"' in body
    for alarm_name in (name, deferred_name):  # both in the alarms' states widget
        assert alarm_name in body, alarm_name


def test_the_notifier_paces_sms_on_the_months_budget(synthesized: Synthesized, tmp_path: Path) -> None:
    def notifier_env(s: Synthesized) -> dict[str, str]:
        (container,) = [c for d in s.resources("AWS::ECS::TaskDefinition").values()
                        for c in d["Properties"]["ContainerDefinitions"] if c["Name"] == "notifier"]
        return {e["Name"]: e["Value"] for e in container.get("Environment", [])}

    assert notifier_env(synthesized)["PHOTOLANE_SMS_MONTHLY_BUDGET_USD"] == "1"  # the account's limit, 1 USD
    alone = synthesize(tmp_path, {"sms_monthly_limit_usd": "none"})
    assert "PHOTOLANE_SMS_MONTHLY_BUDGET_USD" not in notifier_env(alone)  # the notifier's own default (1 USD)
