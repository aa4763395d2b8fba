"""Analysis definitions, conditions, templates and verdicts (pure), the Argo Rollouts
AnalysisTemplate import and the metrics config tables."""

from __future__ import annotations

import math

import pytest

from cockpit.domain.analysis import (AnalysisError, AnalysisRun, Phase, QueryOutcome, combine, define, judge,
                                     parse_duration)
from cockpit.domain.analysis_argo import from_analysis_template
from cockpit.kube.analysis_templates import argo_template
from cockpit.domain.analysis_expr import Condition, ExpressionError, QueryTemplate, UnusableResult
from cockpit.errors import UsageError
from cockpit.metrics.config import ANY_COLOUR, builtin_analyses, load_metrics_config, metrics_config_from

RATE = define("rate", {"query": 'x{s="{{backend}}"}', "success_condition": "result >= 0.99"})

# -- conditions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, values, expected", [
    ("result >= 0.99", (0.995,), True),
    ("result >= 0.99", (0.98,), False),
    ("result < 500", (120.0,), True),
    ("result[0] >= 0.95 && result[1] < 1", (0.96, 0.5), True),
    ("result[0] > 1 || result[1] > 1", (0.0, 2.0), True),
    ("(result > 1 or result < 0) and result != 5", (-1.0,), True),
    ("0.5 < result", (0.7,), True),
    ("result == 1e-3", (0.001,), True),
])
def test_conditions_evaluate(text, values, expected):
    assert Condition.parse(text).holds(values) is expected


@pytest.mark.parametrize("text", [
    "", "result", "result >=", "result >= 0.9 &&", "__import__('os')", "result >= x", "len(result) > 0",
    "result[-1] > 0", "result[0.5] > 1", "1 < 2", "(result > 1", "result > 1)", "result >= 0.9; rm -rf",
])
def test_conditions_outside_the_grammar_are_refused(text):
    with pytest.raises(ExpressionError):
        Condition.parse(text)


@pytest.mark.parametrize("values", [(), (math.nan,), (math.inf,), (0.5, 0.6)])
def test_results_that_cannot_answer_raise(values):
    with pytest.raises(UnusableResult):
        Condition.parse("result >= 0.99").holds(values)


# -- query templates ---------------------------------------------------------------------------


def test_template_renders_known_arguments():
    template = QueryTemplate.parse('sum(x{ns="{{ namespace }}",svc="{{backend}}",v=~"{{colour}}"})')
    assert template.placeholders == {"namespace", "backend", "colour"}
    assert template.render({"namespace": "shop", "backend": "api-canary", "colour": ANY_COLOUR}) == \
        'sum(x{ns="shop",svc="api-canary",v=~".*"})'


@pytest.mark.parametrize("text", ['x{a="{{pod}}"}', "sum(rate(x[1m])", 'x{a="b}', "sum(x))", "  ", "x[1m}"])
def test_malformed_templates_are_refused(text):
    with pytest.raises(ExpressionError):
        QueryTemplate.parse(text)


@pytest.mark.parametrize("value", ['a"}) or vector(1) #', "a\\", "{x}", "a\nb"])
def test_unsafe_or_missing_values_are_refused(value):
    template = QueryTemplate.parse('x{a="{{backend}}"}')
    with pytest.raises(ExpressionError):
        template.render({"backend": value})
    with pytest.raises(ExpressionError, match="needs"):
        template.render({})


# -- definitions --------------------------------------------------------------------------------


def test_define_validates_everything_up_front():
    full = define("p99", {"query": "histogram_quantile(0.99, x)", "success_condition": "result < 500",
                          "failure_condition": "result > 2000", "interval": "1m30s", "count": 3,
                          "failure_limit": "1", "inconclusive_limit": 2, "initial_delay": "5s"})
    assert (full.interval, full.count, full.failure_limit, full.inconclusive_limit, full.initial_delay) == \
        (90.0, 3, 1, 2, 5.0)
    for bad in ({"query": "x"}, {"query": "x(", "success_condition": "result > 1"},
                {"query": "x", "success_condition": "result >"}, {"query": "x", "success_condition": "result > 1",
                                                                   "count": 0},
                {"query": "x", "success_condition": "result > 1", "interval": "soon"},
                {"query": "x", "success_condition": "result > 1", "color": "blue"}):
        with pytest.raises(AnalysisError, match="analysis bad"):
            define("bad", bad)


def test_durations():
    assert [parse_duration(v) for v in (30, "30", "30s", "1m", "1m30s", "500ms", "1h")] == \
        [30, 30, 30, 60, 90, 0.5, 3600]
    for bad in ("-1s", "1d", "x", True, "1m-"):
        with pytest.raises(AnalysisError):
            parse_duration(bad)


def test_measurements_fill_the_window_unless_counted():
    assert RATE.measurements_in(60) == 6 and RATE.measurements_in(5) == 1
    assert define("c", {"query": "x", "success_condition": "result > 1", "count": 2}).measurements_in(60) == 2


# -- judging measurements ---------------------------------------------------------------------


@pytest.mark.parametrize("outcome, phase", [
    (QueryOutcome((0.999,)), Phase.SUCCESSFUL),
    (QueryOutcome((0.95,)), Phase.FAILED),
    (QueryOutcome(()), Phase.INCONCLUSIVE),  # no traffic
    (QueryOutcome((math.nan,)), Phase.INCONCLUSIVE),  # 0/0
    (QueryOutcome((0.99, 1.0)), Phase.INCONCLUSIVE),  # several series for a plain `result`
    (QueryOutcome.failed("Prometheus at http://127.0.0.1:1 did not answer"), Phase.INCONCLUSIVE),
    (QueryOutcome.failed("Prometheus refused the query: bad_data"), Phase.INCONCLUSIVE),
])
def test_judge(outcome, phase):
    measurement = judge(RATE, outcome, "q", at=5.0)
    assert measurement.phase == phase
    assert measurement.describe()["phase"] == phase.value


def test_judge_with_both_conditions_leaves_the_middle_inconclusive():
    both = define("b", {"query": "x", "success_condition": "result >= 0.99", "failure_condition": "result < 0.9"})
    assert [judge(both, QueryOutcome((v,))).phase for v in (0.995, 0.95, 0.5)] == \
        [Phase.SUCCESSFUL, Phase.INCONCLUSIVE, Phase.FAILED]


# -- runs and verdicts -------------------------------------------------------------------------


def run_of(definition, *values, planned=3):
    run = AnalysisRun(definition, planned)
    for value in values:
        outcome = QueryOutcome.failed("down") if value is None else QueryOutcome(() if value == "empty" else (value,))
        run.add(judge(definition, outcome))
    return run


def test_run_verdicts():
    assert run_of(RATE, 1.0, 1.0).verdict == Phase.RUNNING
    assert run_of(RATE, 1.0, 1.0, 1.0).verdict == Phase.SUCCESSFUL
    assert run_of(RATE, 1.0, 0.5).verdict == Phase.FAILED  # at once, not at the end
    assert run_of(RATE, None).verdict == Phase.INCONCLUSIVE  # Prometheus stopped
    assert run_of(RATE, "empty").verdict == Phase.INCONCLUSIVE
    lenient = define("l", {"query": "x", "success_condition": "result >= 0.99", "failure_limit": 1,
                           "inconclusive_limit": 5})
    assert run_of(lenient, 0.5, 1.0, 1.0).verdict == Phase.SUCCESSFUL
    assert run_of(lenient, 0.5, 0.5).verdict == Phase.FAILED
    assert run_of(lenient, None, None, None).verdict == Phase.INCONCLUSIVE  # never a pass without a success
    summary = run_of(RATE, 1.0, 0.5).describe()
    assert summary["verdict"] == "failed" and summary["measurements"][1]["value"] == 0.5


def test_combine():
    assert combine([Phase.SUCCESSFUL, Phase.FAILED, Phase.INCONCLUSIVE]) == Phase.FAILED
    assert combine([Phase.SUCCESSFUL, Phase.INCONCLUSIVE, Phase.RUNNING]) == Phase.INCONCLUSIVE
    assert combine([Phase.SUCCESSFUL, Phase.RUNNING]) == Phase.RUNNING
    assert combine([Phase.SUCCESSFUL, Phase.SUCCESSFUL]) == Phase.SUCCESSFUL
    assert combine([]) == Phase.INCONCLUSIVE


# -- Argo Rollouts AnalysisTemplate --------------------------------------------------------------


def template(**metric_overrides):
    metric = {"name": "success-rate", "interval": "1m", "count": 5, "failureLimit": 1,
              "successCondition": "result[0] >= 0.95",
              "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090", "query":
                           'sum(rate(istio_requests_total{destination_service_name=~"{{args.service-name}}",'
                           'response_code!~"5.*",mesh="{{args.mesh}}"}[5m])) / '
                           'sum(rate(istio_requests_total{destination_service_name=~"{{args.service-name}}"}[5m]))'}}}
    metric.update(metric_overrides)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
            "metadata": {"name": "success-rate", "namespace": "shop"},
            "spec": {"args": [{"name": "service-name"}, {"name": "mesh", "value": "main"}], "metrics": [
                metric, {"name": "web", "provider": {"web": {"url": "http://x"}}, "successCondition": "true"}]}}


def test_argo_template_becomes_an_analysis():
    imported = from_analysis_template(argo_template(template()))
    [analysis] = imported.analyses
    assert analysis.name == "success-rate/success-rate" and analysis.source == "AnalysisTemplate shop/success-rate"
    assert analysis.query.placeholders == {"service"}
    assert 'mesh="main"' in analysis.query.text
    assert (analysis.interval, analysis.count, analysis.failure_limit) == (60.0, 5, 1)
    assert judge(analysis, QueryOutcome((0.97,))).phase == Phase.SUCCESSFUL
    assert imported.skipped == (("success-rate/web", "analysis success-rate/web: provider is not prometheus"),)


@pytest.mark.parametrize("overrides, why", [
    ({"successCondition": "len(result) == 0 || result[0] >= 0.95"}, "cannot read the condition"),
    ({"dryRun": True}, "dry-run"),
    ({"provider": {"prometheus": {"query": 'x{a="{{args.unknown}}"}'}}}, "has no value"),
])
def test_argo_metrics_cockpit_cannot_honour_are_skipped_with_the_reason(overrides, why):
    imported = from_analysis_template(argo_template(template(**overrides)))
    assert not imported.analyses and why in imported.skipped[0][1]


# -- config --------------------------------------------------------------------------------------


def test_builtins_and_config_tables(tmp_path):
    assert set(builtin_analyses()) == {"success-rate", "latency-p99"}
    path = tmp_path / "config.toml"
    path.write_text('theme = "cockpit-light"\n[prometheus]\nurl = "https://prom:9090"\ntoken_file = "token"\n'
                    'ca_file = "/etc/ca.pem"\n\n[analysis.success-rate]\nquery = "x"\n'
                    'success_condition = "result > 0.5"\n[analysis.errors]\nquery = "y"\n'
                    'success_condition = "result < 1"\ncount = 2\n')
    config = load_metrics_config(path)
    assert config.prometheus.url == "https://prom:9090" and config.prometheus.ca_file == "/etc/ca.pem"
    assert config.prometheus.token_file == str(tmp_path / "token")
    assert config.analysis("success-rate").query.text == "x"  # replaces the built-in
    assert config.analysis("errors").count == 2 and "latency-p99" in config.analyses
    (tmp_path / "token").write_text("s3cret\n")
    assert config.prometheus.token() == "s3cret"
    with pytest.raises(UsageError, match="no analysis named 'nope'"):
        config.analysis("nope")
    assert load_metrics_config(tmp_path / "missing.toml").prometheus is None
    assert load_metrics_config(None, "http://127.0.0.1:9").prometheus.url == "http://127.0.0.1:9"


@pytest.mark.parametrize("data, message", [
    ({"prometheus": {"url": "prom:9090"}}, "must be an http"),
    ({"prometheus": {"url": "http://p", "bearer_token": "a", "token_file": "b"}}, "not both"),
    ({"prometheus": {"url": "http://p", "user": "x"}}, "unknown key"),
    ({"analysis": {"x": {"query": "sum(", "success_condition": "result > 1"}}}, "unclosed"),
    ({"analysis": {"x": {"query": "q", "success_condition": "eval('1')"}}}, "cannot read the condition"),
])
def test_bad_config_is_refused_in_one_line(data, message):
    with pytest.raises(UsageError, match=message):
        metrics_config_from(data)


def test_ui_config_accepts_the_metrics_tables(tmp_path):
    from cockpit.ui.config import load_config

    path = tmp_path / "config.toml"
    path.write_text('[prometheus]\nurl = "http://127.0.0.1:9090"\n[analysis.x]\nquery = "q"\n'
                    'success_condition = "result > 1"\n')
    assert load_config(path).path == path
