"""The CloudWatch dashboard: the services' own figures (the EMF log lines of photolane_common.metrics,
in its namespace and with the dimensions they are emitted with), the queues, the SMS spend and ceiling,
the alarms."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from photolane_common import metrics as m

from .data import WorkQueue
from .monitoring import SMS_CEILING_ALARM_PERCENT

PERIOD = Duration.minutes(5)
WIDTH = 8  # three graphs a row (the dashboard is 24 wide)


class Dashboard(Construct):
    """One dashboard: uploads, photos, stage times, faces, notifications, sign-ins, limits, queues, the SMS
    ceiling."""

    def __init__(self, scope: Construct, id: str, *, namespace: str, queues: dict[str, WorkQueue],
                 alarms: list[cloudwatch.Alarm]) -> None:
        super().__init__(scope, id)
        self.namespace = namespace
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(24))
        self.dashboard.add_widgets(cloudwatch.TextWidget(
            markdown="# photolane\nEach service's figures (embedded-metric-format log lines, namespace "
                     f"`{namespace}`), the queues, the SMS spend and the alarms. Locally the admin page shows "
                     "the same figures.", width=24, height=2))
        self.dashboard.add_widgets(
            self._graph("Uploads", [self._metric(m.UPLOADS_ACCEPTED, "accepted", service="upload")],
                        [self._search(m.UPLOADS_REFUSED, ("reason",), "Sum", "refused: ")]),
            self._graph("Rate-limit refusals", [], [self._search(m.RATE_LIMITED, ("limit",), "Sum", "")]),
            self._graph("Sign-in links", [], [self._search(m.SIGNIN_LINKS, ("status",), "Sum", "")]),
        )
        processed = self._metric(m.PHOTOS_PROCESSED, "processed", service="processor")
        failed = self._metric(m.PHOTOS_FAILED, "failed", service="processor")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Photos", width=WIDTH, left=[processed, failed], right=[
                cloudwatch.MathExpression(expression="100 * failed / (processed + failed)", label="failed %",
                                          using_metrics={"processed": processed, "failed": failed},
                                          period=PERIOD)]),
            self._graph("Milliseconds per stage (mean)", [],
                        [self._search(m.STAGE_MS, ("stage",), "Average", "")]),
            self._graph("Faces", [self._metric(m.FACES_FOUND, "found", service="processor")],
                        [self._search(m.FACES_NAMED, ("phase",), "Sum", "named ")]),
        )
        spend = cloudwatch.Metric(namespace="AWS/SNS", metric_name="SMSMonthToDateSpentUSD", label="SMS spend (USD)",
                                  period=Duration.hours(1), statistic="Maximum")
        self.dashboard.add_widgets(
            self._graph("Notifications", [], [self._search(m.NOTIFICATIONS, ("channel", "status"), "Sum", "")]),
            cloudwatch.GraphWidget(title="SMS", width=WIDTH,
                                   left=[self._metric(m.SMS_SEGMENTS, "SMS parts sent", service="notifier")],
                                   right=[spend]),
            cloudwatch.GraphWidget(title="Queue lag (ms)", width=WIDTH, left=[
                self._metric(m.QUEUE_LAG_MS, f"{service} {stat.lower()}", statistic=stat, service=service)
                for service in ("processor", "notifier") for stat in ("Average", "Maximum")]),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Queue depth", width=WIDTH, left=[
                work.queue.metric_approximate_number_of_messages_visible(label=f"{name} waiting", period=PERIOD,
                                                                         statistic="Maximum")
                for name, work in queues.items()] + [
                work.dead_letters.metric_approximate_number_of_messages_visible(
                    label=f"{name} dead letters", period=PERIOD, statistic="Maximum")
                for name, work in queues.items()]),
            cloudwatch.GraphWidget(title="Oldest message age (s)", width=WIDTH, left=[
                work.queue.metric_approximate_age_of_oldest_message(label=name, period=PERIOD, statistic="Maximum")
                for name, work in queues.items()]),
            self._graph("Failed and dead-lettered messages", [
                self._metric(name, f"{service} {what}", service=service)
                for service in ("processor", "notifier")
                for name, what in ((m.MESSAGES_FAILED, "failed tries"), (m.MESSAGES_DEAD_LETTERED, "dead-lettered"))],
                []),
        )
        ceiling = f"alarm ({SMS_CEILING_ALARM_PERCENT} %)"
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="SMS ceiling (every recipient together)", width=WIDTH,
                left=[self._metric(m.SMS_CEILING_USED, "day's ceiling used (%)", statistic="Maximum",
                                   service="notifier")],
                right=[self._metric(m.NOTIFICATIONS, "SMS deferred (waiting for the window)", service="notifier",
                                    channel="sms", status="deferred")],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100, show_units=False),
                left_annotations=[cloudwatch.HorizontalAnnotation(value=SMS_CEILING_ALARM_PERCENT, label=ceiling)]),
        )
        if alarms:
            self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24))

    @property
    def name(self) -> str:
        return self.dashboard.dashboard_name

    def _metric(self, name: str, label: str, statistic: str = "Sum", **dimensions: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(namespace=self.namespace, metric_name=name, dimensions_map=dimensions,
                                 label=label, period=PERIOD, statistic=statistic)

    def _search(self, name: str, keys: tuple[str, ...], statistic: str, label: str) -> cloudwatch.MathExpression:
        """Every series of the metric, one line per value of ``keys`` (the values are not known here)."""
        schema = ",".join([self.namespace, *sorted({"service", *keys})])
        dynamic = " ".join(f"${{PROP('Dim.{key}')}}" for key in keys)  # e.g. "refused: too_large"
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{{{schema}}} MetricName=\"{name}\"', '{statistic}', {int(PERIOD.to_seconds())})",
            label=label + dynamic, period=PERIOD)

    @staticmethod
    def _graph(title: str, left: list[cloudwatch.IMetric],
               searches: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(title=title, width=WIDTH, left=[*left, *searches])
