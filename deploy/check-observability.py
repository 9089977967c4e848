#!/usr/bin/env python3
"""Checks deploy/grafana/gateway-dashboard.json and deploy/prometheus/gateway-alerts.yml against what /metrics serves.

Usage: check-observability.py RULES_OUT
  The dashboard's shape (uid, title, schemaVersion, templating, panels with ids, grid positions and targets) is checked;
  every metric either file names must be one the gateway serves (the catalogue below, README "Observability");
  every dashboard query is written to RULES_OUT as a recording rule, so `promtool check rules RULES_OUT` parses its PromQL.
"""
import json
import re
import sys

import yaml

# The metric families of the Gateway meter, as the Prometheus exporter names them (MetricsTests lists them too).
SERVED = {
    "gateway_http_requests_total", "gateway_http_request_duration_seconds", "gateway_amo_requests_total",
    "gateway_amo_request_duration_seconds", "gateway_token_refreshes_total", "gateway_leads_accepted_total",
    "gateway_leads_delivered_total", "gateway_leads_failed_total", "gateway_amo_rate_limit_waits_total",
    "gateway_amo_rate_limit_wait_seconds_total", "gateway_database_up", "gateway_outbox_leads",
    "gateway_outbox_notes_pending", "gateway_outbox_oldest_queued_age_seconds", "gateway_token_can_deliver",
    "gateway_token_state",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

problems = []


def served(name):
    return name in SERVED or any(name.endswith(s) and name[: -len(s)] in SERVED for s in HISTOGRAM_SUFFIXES)


def metrics_in(expr):
    return set(re.findall(r"\bgateway_[a-z_]+", expr))


dashboard = json.load(open("deploy/grafana/gateway-dashboard.json"))
for key in ("uid", "title", "schemaVersion", "panels", "templating"):
    if key not in dashboard:
        problems.append(f"dashboard: no {key}")
variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
for needed in ("datasource", "account"):
    if needed not in variables:
        problems.append(f"dashboard: no ${needed} variable")
ids = set()
rules = []
for panel in dashboard.get("panels", []):
    title = panel.get("title") or f"panel {panel.get('id')}"
    if not isinstance(panel.get("id"), int) or panel["id"] in ids:
        problems.append(f"dashboard: {title}: missing or repeated id")
    ids.add(panel.get("id"))
    grid = panel.get("gridPos", {})
    if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) or grid.get("x", 0) + grid.get("w", 0) > 24:
        problems.append(f"dashboard: {title}: bad gridPos {grid}")
    if panel.get("type") not in ("timeseries", "table", "stat", "gauge", "bargauge", "text"):
        problems.append(f"dashboard: {title}: unknown panel type {panel.get('type')}")
    targets = panel.get("targets") or []
    if not targets:
        problems.append(f"dashboard: {title}: no queries")
    for target in targets:
        expr = target.get("expr", "")
        for name in metrics_in(expr):
            if not served(name):
                problems.append(f"dashboard: {title}: {name} is not served by /metrics")
        concrete = expr.replace("$__rate_interval", "5m").replace("$account", ".*")
        if "$" in concrete.replace("{{", "").replace("}}", ""):
            problems.append(f"dashboard: {title}: unknown variable in {expr}")
        rules.append({"record": f"dashboard:panel{panel.get('id')}:{target.get('refId', 'A')}", "expr": concrete})

alerts = yaml.safe_load(open("deploy/prometheus/gateway-alerts.yml"))
for group in alerts.get("groups", []):
    for rule in group.get("rules", []):
        name = rule.get("alert", "?")
        if not rule.get("annotations", {}).get("runbook"):
            problems.append(f"alerts: {name} has no runbook line")
        for metric in metrics_in(rule.get("expr", "")):
            if not served(metric):
                problems.append(f"alerts: {name}: {metric} is not served by /metrics")

with open(sys.argv[1], "w") as out:
    yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, out)

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"dashboard: {len(dashboard['panels'])} panels, {len(rules)} queries; alerts: every rule has a runbook; every metric named is served")
