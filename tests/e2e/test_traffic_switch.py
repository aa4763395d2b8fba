"""Blue/green switch of shop/web against the simulator, through the driver and the CLI.

Every test asserts the end state on the server (selector, pending marker, endpoints as kubectl
sees them), the journal and, where something was changed, the Kubernetes Event.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from cockpit.controllers.base import ChangedSincePreview, PreconditionFailed, collecting_reporter
from cockpit.controllers.switch import CHECK_ROLLED_OUT, SwitchOperation
from cockpit.errors import ReadOnlyRefusal
from cockpit.journal import Journal, JournalError
from cockpit.kube.errors import Forbidden
from tests.support.e2e import run_cli
from tests.support.traffic import (
    cockpit_events, drive, endpoint_colours, event_summary, hold_old_endpoints, journal_steps, marker_of,
    selector_of,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
BLUE, GREEN = {"app": "web", "color": "blue"}, {"app": "web", "color": "green"}


def switch(client, to=None, **options) -> SwitchOperation:
    return SwitchOperation(client, "shop/web", to, poll_interval=0.05, **{"verify_timeout": 20.0, **options})


async def switchable(client, wait_for_async, colour="green"):
    """Wait until a switch to ``colour`` passes its checks (the demo's pods start up first)."""
    return await wait_for_async(switch(client, colour).preview, accept=lambda plan: not plan.blocked,
                                what=f"a switch plan to {colour} whose checks pass")


async def test_switch_to_green_and_back(client, journal_path, kubectl, wait_for_async):
    await switchable(client, wait_for_async)
    result = await drive(client, journal_path, switch(client))
    assert result.ok and result.details["verified"] and result.details["endpoints"].get("green", 0) >= 1
    assert selector_of(kubectl) == GREEN and endpoint_colours(kubectl) == {"green"}
    assert marker_of(kubectl) is None  # verified: the pending marker is gone
    assert kubectl("-n", "shop", "get", "deployment", "web-blue", "-o",
                   "jsonpath={.status.readyReplicas}").stdout == "3"  # the old colour keeps running

    result = await drive(client, journal_path, switch(client))  # again: the other colour, i.e. back
    assert result.ok and selector_of(kubectl) == BLUE and endpoint_colours(kubectl) == {"blue"}
    assert journal_steps(journal_path) == ["preview", "start", "step:write", "step:verified", "result"] * 2
    last = Journal(journal_path).entries()[-1]
    assert last["before"] == {"selector": GREEN} and last["after"] == {"selector": BLUE}
    assert last["verified"] is True and last["context"] == "cockpit-sim" and last["user"]
    assert [event_summary(e) for e in cockpit_events(kubectl)] == [
        ("ServiceSwitched", "Normal", "Service", "web")] * 2
    assert "switched shop/web to blue" in cockpit_events(kubectl)[-1]["note"]


class PatchOnly:
    """An API client for a user RBAC allows to patch but not update Services (no PUT)."""

    def __init__(self, inner):
        self.inner, self.verbs, self.dry_runs = inner, [], []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def replace(self, path, body, dry_run=False):
        raise Forbidden(403, "Forbidden", f'services is forbidden: cannot "update" {path}')

    async def patch(self, path, body, patch_type="strategic", dry_run=False):
        self.verbs.append(("PATCH", patch_type, body))
        self.dry_runs.append(dry_run)
        return await self.inner.patch(path, body, patch_type, dry_run)


async def test_switch_writes_a_patch_with_the_previewed_resource_version(client, journal_path, kubectl,
                                                                         wait_for_async):
    plan = await switchable(client, wait_for_async)
    api = PatchOnly(client)
    result = await drive(client, journal_path, switch(api))
    assert result.ok and selector_of(kubectl) == GREEN
    verb, kind, body = api.verbs[0]
    assert (verb, kind) == ("PATCH", "merge") and body["spec"] == {"selector": {"color": "green"}}
    assert body["metadata"]["resourceVersion"] == plan.version  # optimistic concurrency stays
    assert plan.commands[0].startswith("kubectl -n shop patch service web --type=merge")


class EditBeforeFirstPatch(PatchOnly):
    """Someone edits the Service between the confirmed re-check and our write."""

    def __init__(self, inner, kubectl):
        super().__init__(inner)
        self.kubectl = kubectl

    async def patch(self, path, body, patch_type="strategic", dry_run=False):
        if not self.verbs:
            self.kubectl("-n", "shop", "annotate", "service", "web", "owner=someone-else")
        return await super().patch(path, body, patch_type, dry_run)


async def test_a_concurrent_edit_is_a_conflict_never_an_overwrite(client, journal_path, kubectl, wait_for_async):
    await switchable(client, wait_for_async)
    with pytest.raises(ChangedSincePreview) as caught:  # --yes: never re-confirms by itself
        await drive(client, journal_path, switch(EditBeforeFirstPatch(client, kubectl)))
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    assert caught.value.plan is not None and caught.value.plan.version != ""
    asked = []

    async def confirm(plan):
        asked.append(plan)
        return True

    kubectl("-n", "shop", "annotate", "service", "web", "owner-")
    result = await drive(client, journal_path, switch(EditBeforeFirstPatch(client, kubectl)), confirm=confirm,
                         interactive=True)  # interactive: shown the fresh plan, asked again
    assert result.ok and len(asked) == 2 and asked[1].version != asked[0].version
    assert selector_of(kubectl) == GREEN
    assert kubectl("-n", "shop", "get", "service", "web", "-o",
                   "jsonpath={.metadata.annotations.owner}").stdout == "someone-else"


async def test_switch_to_a_colour_that_is_not_ready_is_refused(client, journal_path, kubectl, wait_for_async):
    kubectl("-n", "shop", "set", "image", "deployment/web-green", "web=registry.example/web:1.6.0-broken")
    await wait_for_async(switch(client, "green").preview, accept=lambda plan: plan.blocked)
    with pytest.raises(PreconditionFailed, match=CHECK_ROLLED_OUT):
        await drive(client, journal_path, switch(client, "green"))
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    refused = Journal(journal_path).entries()[-1]
    assert refused["event"] == "refused" and any(c["name"] == CHECK_ROLLED_OUT for c in refused["checks"])


async def test_verification_fails_while_old_endpoints_remain(client, journal_path, kubectl, wait_for_async):
    """Strict verification: one blue endpoint left in a slice fails it, though green is all ready."""
    await switchable(client, wait_for_async)
    hold_old_endpoints(kubectl, "blue")
    reporter, progress = collecting_reporter()
    result = await drive(client, journal_path, switch(client, verify_timeout=3.0), reporter=reporter)
    assert not result.ok and result.details["rolled_back"] and result.details["verified_back"]
    assert "expected only ready green pods" in result.message and "blue 1/1" in result.message
    assert any(p.step == "verify" and "green 3/3 ready" in p.message for p in progress)  # green was all ready
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    assert journal_steps(journal_path) == ["preview", "start", "step:write", "rollback", "step:switched-back",
                                           "result"]
    last = Journal(journal_path).entries()[-1]
    assert last["ok"] is False and last["after"] == {"selector": BLUE}
    assert event_summary(cockpit_events(kubectl)[-1]) == ("ServiceSwitchedFailed", "Warning", "Service", "web")


async def test_verification_passes_once_the_old_endpoint_goes(client, journal_path, kubectl, wait_for_async):
    await switchable(client, wait_for_async)
    hold_old_endpoints(kubectl, "blue")

    def release(progress):
        if progress.step == "verify" and "blue 1/1" in progress.message:
            kubectl("-n", "shop", "delete", "endpointslice", "web-held-back")

    result = await drive(client, journal_path, switch(client), reporter=release)
    assert result.ok and selector_of(kubectl) == GREEN and marker_of(kubectl) is None


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
    await switchable(client, wait_for_async)

    def inject(progress):
        if progress.step == "write":
            sim.call(make_colour_unready, sim.cluster, "green")

    result = await drive(client, journal_path, switch(client, verify_timeout=3.0), reporter=inject)
    assert not result.ok and result.details["rolled_back"] and "expected only ready green pods" in result.message
    assert selector_of(kubectl) == BLUE and endpoint_colours(kubectl) == {"blue"} and marker_of(kubectl) is None


async def test_read_only_refuses_and_an_unwritable_journal_blocks(client, journal_path, kubectl, tmp_path,
                                                                  wait_for_async):
    await switchable(client, wait_for_async)
    with pytest.raises(ReadOnlyRefusal):
        await drive(client, journal_path, switch(client), read_only=True)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(JournalError):
        await drive(client, blocker / "journal.jsonl", switch(client))
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    assert [e["event"] for e in Journal(journal_path).entries()] == ["refused"]
    assert cockpit_events(kubectl) == []


async def test_dry_run_sends_dry_run_all_and_changes_nothing(client, journal_path, kubectl, wait_for_async):
    await switchable(client, wait_for_async)
    api = PatchOnly(client)
    result = await drive(client, journal_path, switch(api), dry_run=True)
    assert result.dry_run and not result.changed and result.message.startswith("[dry run] nothing changed")
    assert api.dry_runs == [True] and api.verbs[0][2]["spec"] == {"selector": {"color": "green"}}  # dryRun=All
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None and cockpit_events(kubectl) == []
    assert [e.get("dry_run") for e in Journal(journal_path).entries() if e["event"] == "start"] == [True]


# ----- the CLI twin -----------------------------------------------------------------------


def wait_switchable(sim, capsys, journal_path, wait_for, colour):
    def ready():
        code, _, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", colour, "--dry-run", "--json")
        return code == 0
    wait_for(ready, timeout=20)


def test_cli_switch_to_green_and_back(sim, kubectl, capsys, journal_path, wait_for):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    code, out, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green", "--yes", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["result"]["details"]["verified"], out
    assert selector_of(kubectl) == GREEN and endpoint_colours(kubectl) == {"green"} and marker_of(kubectl) is None
    code, out, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--yes")  # default: the other colour
    assert code == 0 and out.splitlines()[-1].startswith("switched shop/web to blue")
    assert selector_of(kubectl) == BLUE and endpoint_colours(kubectl) == {"blue"}


def test_cli_dry_run_changes_nothing_and_says_so(sim, kubectl, capsys, journal_path, wait_for):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    code, out, _ = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--dry-run")
    assert code == 0 and out.splitlines()[-1].startswith("[dry run] nothing changed")
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    entries = Journal(journal_path).entries()
    assert entries and all(e.get("dry_run") for e in entries if e["event"] == "start")


def test_cli_without_yes_and_without_tty_refuses(sim, kubectl, capsys, journal_path, wait_for):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    code, out, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green")
    assert code == 1 and "pass --yes" in err
    assert "app=web,color=blue" in out and "app=web,color=green" in out  # the preview was shown
    assert selector_of(kubectl) == BLUE


def test_cli_refusal_names_precondition(sim, kubectl, capsys, journal_path):
    kubectl("-n", "shop", "scale", "deployment/web-green", "--replicas=0")
    code, out, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green", "--yes", "--json")
    doc = json.loads(out)
    assert code == 1 and not doc["ok"] and "target fully rolled out" in doc["error"]
    assert selector_of(kubectl) == BLUE


def test_cli_unwritable_journal_nothing_changes(sim, kubectl, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, sim, blocker / "journal.jsonl", "switch", "shop/web", "--to", "green", "--yes")
    assert code == 1 and "cannot write the audit journal" in err
    assert selector_of(kubectl) == BLUE


def test_cli_read_only(sim, kubectl, capsys, journal_path):
    code, out, err = run_cli(capsys, sim, journal_path, "--read-only", "switch", "shop/web", "--to", "green",
                             "--yes", "--json")
    assert code == 1 and "read-only" in err and json.loads(out)["ok"] is False
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None


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
    assert selector_of(kubectl) == BLUE


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
    assert selector_of(kubectl) == GREEN
    assert kubectl("-n", "shop", "get", "service", "web", "-o",
                   "jsonpath={.metadata.annotations.edited-by}").stdout == "bob"


def test_cli_json_refusal_still_prints_one_document(sim, capsys, journal_path):
    code, out, err = run_cli(capsys, sim, journal_path, "--read-only", "switch", "shop/web", "--json", "--yes")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and "read-only" in doc["error"] and "read-only" in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_a_signal_at_the_prompt_interrupts_at_once_and_changes_nothing(sim, kubectl, capsys, journal_path,
                                                                            wait_for, monkeypatch, signum):
    wait_switchable(sim, capsys, journal_path, wait_for, "green")
    monkeypatch.setattr("sys.stdin", FakeTerminal(["y"], lambda _n: os.kill(os.getpid(), signum)))
    # Compared with what was installed before, not with SIG_DFL: under coverage (CI) a SIGTERM
    # handler of coverage's own is already in place.
    handlers_before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    code, _, err = run_cli(capsys, sim, journal_path, "switch", "shop/web", "--to", "green")
    assert code == 130 and "interrupted" in err
    assert selector_of(kubectl) == BLUE and marker_of(kubectl) is None
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers_before  # put back
