"""Blue/green switch of shop/web against the simulator, through the controller and the CLI.

After each step the real kubectl must show the same selector and endpoints as the cockpit.
"""

from __future__ import annotations

import json

import pytest

from cockpit.controllers.base import ActionFailed, ChangedSincePreview, PreconditionFailed
from cockpit.controllers.switch import CHECK_ROLLED_OUT, SwitchController
from cockpit.errors import ReadOnlyRefusal
from cockpit.journal import Journal, JournalError
from tests.support.e2e import guard, run_cli

pytestmark = pytest.mark.slow


def controller(client, journal_path, *, read_only=False, verify_timeout=20.0) -> SwitchController:
    return SwitchController(client, guard(journal_path, read_only=read_only), verify_timeout=verify_timeout,
                            poll_interval=0.05)


def selector_of(kubectl) -> dict:
    out = kubectl("-n", "shop", "get", "service", "web", "-o", "jsonpath={.spec.selector}").stdout
    return json.loads(out)


def endpoint_colours(kubectl) -> set[str]:
    """Colours of the pods kubectl sees in the web Service's EndpointSlices."""
    slices = json.loads(kubectl("-n", "shop", "get", "endpointslices", "-l",
                                "kubernetes.io/service-name=web", "-o", "json").stdout)
    names = {(e.get("targetRef") or {}).get("name") for s in slices["items"] for e in s.get("endpoints") or []}
    pods = json.loads(kubectl("-n", "shop", "get", "pods", "-l", "app=web", "-o", "json").stdout)
    return {p["metadata"]["labels"]["color"] for p in pods["items"] if p["metadata"]["name"] in names}


def events(journal_path, action="switch") -> list[str]:
    return [e["event"] for e in Journal(journal_path).entries() if e.get("action") == action]


async def wait_ready_plan(ctl, wait_for_async, colour):
    return await wait_for_async(lambda: ctl.preview("shop/web", colour), accept=lambda plan: plan.ok,
                                what=f"a switch plan to {colour} whose checks pass")


async def test_switch_to_green_and_back(client, journal_path, kubectl, wait_for_async):
    ctl = controller(client, journal_path)
    plan = await wait_ready_plan(ctl, wait_for_async, None)
    assert (plan.from_colour, plan.to_colour) == ("blue", "green")
    result = await ctl.switch(plan)
    assert result.ok and result.verified and result.endpoints.get("green", 0) >= 1
    assert selector_of(kubectl) == {"app": "web", "color": "green"}
    assert endpoint_colours(kubectl) == {"green"}
    assert kubectl("-n", "shop", "get", "deployment", "web-blue", "-o",
                   "jsonpath={.status.readyReplicas}").stdout == "3"  # the old colour keeps running

    back = await ctl.preview_switch_back("shop/web")
    assert back.to_colour == "blue" and back.ok
    result = await ctl.switch(back)
    assert result.verified and selector_of(kubectl) == {"app": "web", "color": "blue"}
    assert endpoint_colours(kubectl) == {"blue"}
    assert events(journal_path) == ["preview", "start", "result"] * 2
    last = Journal(journal_path).entries()[-1]
    assert last["before"] == {"selector": {"app": "web", "color": "green"}}
    assert last["after"] == {"selector": {"app": "web", "color": "blue"}}
    assert last["verified"] is True and last["context"] == "cockpit-sim" and last["user"]


async def test_switch_to_colour_that_is_not_ready_is_refused(client, journal_path, kubectl, wait_for_async):
    kubectl("-n", "shop", "set", "image", "deployment/web-green", "web=registry.example/web:1.6.0-broken")
    ctl = controller(client, journal_path)
    plan = await wait_for_async(lambda: ctl.preview("shop/web", "green"), accept=lambda p: not p.ok)
    assert CHECK_ROLLED_OUT in [c.name for c in plan.checks if not c.ok]
    with pytest.raises(PreconditionFailed, match=CHECK_ROLLED_OUT):
        await ctl.switch(plan)
    assert selector_of(kubectl) == {"app": "web", "color": "blue"}
    failure = Journal(journal_path).entries()[-1]
    assert failure["event"] == "failure" and any(c["name"] == CHECK_ROLLED_OUT and not c["ok"]
                                                  for c in failure["checks"])


async def test_concurrent_edit_between_preview_and_confirm_is_detected(client, journal_path, kubectl,
                                                                       wait_for_async):
    ctl = controller(client, journal_path)
    plan = await wait_ready_plan(ctl, wait_for_async, "green")
    kubectl("-n", "shop", "annotate", "service", "web", "owner=someone-else")
    with pytest.raises(ChangedSincePreview) as caught:
        await ctl.switch(plan)
    assert selector_of(kubectl) == {"app": "web", "color": "blue"}
    fresh = caught.value.plan
    assert fresh.resource_version != plan.resource_version
    result = await ctl.switch(fresh)  # asked again, confirmed again
    assert result.verified and selector_of(kubectl)["color"] == "green"
    assert kubectl("-n", "shop", "get", "service", "web", "-o",
                   "jsonpath={.metadata.annotations.owner}").stdout == "someone-else"


async def test_stale_write_gets_conflict_not_overwrite(client, journal_path, kubectl, wait_for_async):
    """Even if the re-check passes, the PUT carries the preview's resourceVersion (409)."""
    ctl = controller(client, journal_path)
    plan = await wait_ready_plan(ctl, wait_for_async, "green")
    stale = dict(plan.service, metadata=dict(plan.service["metadata"]))
    kubectl("-n", "shop", "label", "service", "web", "edited=yes")
    with pytest.raises(ChangedSincePreview):
        await ctl._write_selector(plan, stale, plan.selector_after, False)
    assert selector_of(kubectl)["color"] == "blue"


async def test_verification_failure_switches_back_by_itself(client, journal_path, kubectl, wait_for_async):
    ctl = controller(client, journal_path)
    plan = await wait_ready_plan(ctl, wait_for_async, "green")
    with pytest.raises(ActionFailed, match="switched back") as caught:
        await ctl.switch(plan, drill_verify_failure=True)
    result = caught.value.result
    assert result.rolled_back and not result.ok and "drill" in result.reason
    assert selector_of(kubectl) == {"app": "web", "color": "blue"}
    entry = Journal(journal_path).entries()[-1]
    assert entry["event"] == "failure" and entry["rolled_back"] is True
    assert entry["after"] == {"selector": {"app": "web", "color": "blue"}}


def make_colour_unready(cluster, colour: str) -> None:
    """On the sim loop: the colour's pods fail their readiness probe (Ready=False)."""
    def unready(pod):
        for cond in pod["status"].get("conditions") or []:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["status"] = "False"
        for status in pod["status"].get("containerStatuses") or []:
            status["ready"] = False

    for pod in cluster.store.list("pods", "shop"):
        if pod["metadata"].get("labels", {}).get("color") == colour:
            cluster.store.mutate("pods", "shop", pod["metadata"]["name"], unready)


async def test_target_going_unready_after_the_write_switches_back(sim, client, journal_path, kubectl,
                                                                  wait_for_async):
    """A real verification failure: green passes the checks, then fails readiness right after
    the selector write, so its endpoints never become ready within the deadline."""
    ctl = controller(client, journal_path, verify_timeout=1.0)
    plan = await wait_ready_plan(ctl, wait_for_async, "green")

    def inject(progress):
        if progress.step == "write":
            sim.call(make_colour_unready, sim.cluster, "green")

    ctl.reporter = inject
    with pytest.raises(ActionFailed, match="expected only ready green pods") as caught:
        await ctl.switch(plan)
    assert caught.value.result.rolled_back
    assert selector_of(kubectl) == {"app": "web", "color": "blue"}
    assert endpoint_colours(kubectl) == {"blue"}
    entry = Journal(journal_path).entries()[-1]
    assert entry["event"] == "failure" and "switched back" in entry["error"]


async def test_read_only_refuses_and_unwritable_journal_blocks(client, journal_path, kubectl, tmp_path,
                                                               wait_for_async):
    plan = await wait_ready_plan(controller(client, journal_path), wait_for_async, "green")
    with pytest.raises(ReadOnlyRefusal):
        await controller(client, journal_path, read_only=True).switch(plan)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(JournalError):
        await controller(client, blocker / "journal.jsonl").switch(plan)
    assert selector_of(kubectl) == {"app": "web", "color": "blue"}


# ----- the CLI twin -----------------------------------------------------------------------


def wait_switchable(sim, capsys, journal_path, wait_for, colour):
    def ready():
        code, out, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", colour, "--dry-run", "--json")
        return code == 0
    wait_for(ready, timeout=20)


def test_cli_switch_to_green_and_back(sim, kubectl, capsys, journal_path, wait_for):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    code, out, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green", "--yes", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["result"]["verified"], out
    assert selector_of(kubectl)["color"] == "green" and endpoint_colours(kubectl) == {"green"}
    code, out, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--yes")  # default: the other colour
    assert code == 0 and "switched shop/web to blue" in out
    assert selector_of(kubectl)["color"] == "blue" and endpoint_colours(kubectl) == {"blue"}


def test_cli_dry_run_changes_nothing(sim, kubectl, capsys, journal_path, wait_for):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    assert selector_of(kubectl)["color"] == "blue"
    entries = Journal(journal_path).entries()
    assert entries and all(e.get("dry_run") for e in entries if e["event"] == "start")


def test_cli_without_yes_and_without_tty_refuses(sim, kubectl, capsys, journal_path, wait_for):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    code, out, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green")
    assert code == 1 and "pass --yes" in err
    assert "app=web,color=blue" in out and "app=web,color=green" in out  # the preview was shown
    assert selector_of(kubectl)["color"] == "blue"


def test_cli_refusal_names_precondition(sim, kubectl, capsys, journal_path, wait_for):
    kubectl("-n", "shop", "scale", "deployment/web-green", "--replicas=0")
    code, out, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green", "--yes", "--json")
    doc = json.loads(out)
    assert code == 1 and not doc["ok"] and "target fully rolled out" in doc["error"]
    assert selector_of(kubectl)["color"] == "blue"


def test_cli_unwritable_journal_nothing_changes(sim, kubectl, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, sim, blocker / "journal.jsonl", "switch", "shop/web", "--to", "green", "--yes")
    assert code == 1 and "cannot write the audit journal" in err
    assert selector_of(kubectl)["color"] == "blue"


def test_cli_read_only(sim, kubectl, capsys, journal_path):
    code, _, err = run_cli(capsys, sim, journal_path, "--read-only", "switch", "shop/web", "--to", "green", "--yes")
    assert code == 1 and "read-only" in err
    assert selector_of(kubectl)["color"] == "blue"


class FakeTerminal:
    """A stdin that claims to be a terminal and answers prompts; ``on_prompt(n)`` runs first."""

    def __init__(self, answers, on_prompt=None):
        self.answers, self.on_prompt, self.prompts = list(answers), on_prompt, 0

    def isatty(self):
        return True

    def readline(self):
        self.prompts += 1
        if self.on_prompt:
            self.on_prompt(self.prompts)
        return self.answers.pop(0) + "\n"


def test_cli_interactive_no_cancels(sim, kubectl, capsys, journal_path, wait_for, monkeypatch):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    monkeypatch.setattr("sys.stdin", FakeTerminal(["n"]))
    code, _, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green")
    assert code == 1 and "cancelled" in err
    assert selector_of(kubectl)["color"] == "blue"


def test_cli_concurrent_edit_shows_new_preview_and_asks_again(sim, kubectl, capsys, journal_path, wait_for,
                                                              monkeypatch):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")

    def someone_else_edits(prompt):
        if prompt == 1:
            kubectl("-n", "shop", "annotate", "service", "web", "edited-by=bob")

    terminal = FakeTerminal(["y", "y"], someone_else_edits)
    monkeypatch.setattr("sys.stdin", terminal)
    code, out, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green")
    assert code == 0, err
    assert terminal.prompts == 2 and "changed since the preview" in out, out
    assert out.count("target   shop/web") == 2  # the fresh preview was shown before asking again
    assert selector_of(kubectl)["color"] == "green"
    assert kubectl("-n", "shop", "get", "service", "web", "-o",
                   "jsonpath={.metadata.annotations.edited-by}").stdout == "bob"
    real = [e["event"] for e in Journal(journal_path).entries() if not e.get("dry_run")]
    assert real == ["preview", "start", "failure", "preview", "start", "result"]


def test_cli_with_yes_does_not_overwrite_a_concurrent_edit(sim, kubectl, capsys, journal_path, wait_for,
                                                           monkeypatch):
    """--yes never re-confirms by itself: a change between preview and write is a refusal."""
    from cockpit.controllers import switch as switch_module

    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    real_preview = switch_module.SwitchController.preview
    calls = []

    async def preview_then_edit(self, target, to_colour=None):
        plan = await real_preview(self, target, to_colour)
        calls.append(1)
        if len(calls) == 1:  # right after the first preview, before the write
            kubectl("-n", "shop", "annotate", "service", "web", "edited-by=carol")
        return plan

    monkeypatch.setattr(switch_module.SwitchController, "preview", preview_then_edit)
    code, out, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green", "--yes")
    assert code == 1 and "changed since the preview" in out + err
    assert selector_of(kubectl)["color"] == "blue"


def test_cli_json_refusal_still_prints_one_document(sim, capsys, journal_path):
    code, out, err = run_cli(capsys, sim, journal_path, "--read-only", "switch", "shop/web", "--json", "--yes")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and "read-only" in doc["error"] and "read-only" in err
