"""Each pane renders fixture records and follows changes through the live flush path."""

from __future__ import annotations

import tests.support.builders as b
from tests.support.ui import make_app, rows, settle


def names(app, pane: str) -> list[str]:
    return [row[0] for row in rows(app, pane)]


async def test_rollouts_rows_failed_first_and_state():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = rows(app, "rollouts")
        assert table[0][0] == "shop/checkout"
        assert table[0][5] == "✘ Failed: timed out"  # the grid's state column is too narrow for the reason
        assert table[0][2] == "3/1/3/3"
        assert sorted(names(app, "rollouts")[1:]) == names(app, "rollouts")[1:]
        web = next(r for r in table if r[0] == "shop/web-blue")
        assert "Complete" in web[5] and "100%" in web[6] and web[4] == "web:1.4.0"
        await pilot.press("1", "m")  # maximised: kubectl's reason in full
        await pilot.pause()
        assert rows(app, "rollouts")[0][5] == "✘ Failed: ProgressDeadlineExceeded"


async def test_rollouts_follow_scale_and_delete():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        cache = app.cache
        cache.put("deployments", b.deployment("shop", "web-blue", replicas=5, ready=3, updated=5,
                                              labels={"app": "web", "color": "blue"}))
        await settle(pilot)
        row = next(r for r in rows(app, "rollouts") if r[0] == "shop/web-blue")
        assert row[2] == "5/5/3/3" and "Progressing" in row[5]
        cache.remove("deployments", "uid-shop-api-canary")
        await settle(pilot)
        assert "shop/api-canary" not in names(app, "rollouts")
        assert len(names(app, "rollouts")) == 4


async def test_rollout_pending_pod_problem_shows_before_deadline():
    objs = b.demo_objects()
    dep = b.deployment("shop", "cart", image="registry.example/cart:1.1-crash", updated=1, ready=2, revision=2)
    rs = b.replicaset(dep, 2, "aa11", 1, 0, "registry.example/cart:1.1-crash")
    objs["deployments"].append(dep)
    objs["replicasets"].append(rs)
    objs["pods"].append(b.pod(rs, "p1", "worker-1", ready=False, waiting="CrashLoopBackOff"))
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        row = next(r for r in rows(app, "rollouts") if r[0] == "shop/cart")
        assert "Progressing" in row[5] and "CrashLoopBackOff" in row[5]
        assert names(app, "rollouts")[:2] == ["shop/checkout", "shop/cart"]


async def test_traffic_pair_and_route_split():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = rows(app, "traffic")
        assert table[0][:3] == ["shop/web", "● blue ACTIVE", "◀ traffic"]
        assert table[0][3] == "3/3 · 3 ep"
        assert table[1][1:] == ["■ green", "✔ can switch", "3/3"]
        assert table[2][0] == "shop/api" and table[2][1] == "→ api-stable" and "90%" in table[2][2]
        assert table[3][1] == "→ api-canary" and "10%" in table[3][2] and table[3][3] == "2/2 · w10"


async def test_traffic_follows_selector_switch_and_weights():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.cache.put("services", b.service("shop", "web", {"app": "web", "color": "green"}))
        app.cache.put("httproutes", b.httproute("shop", "api", {"api-stable": 50, "api-canary": 50}))
        await settle(pilot)
        table = rows(app, "traffic")
        assert table[0][1] == "● blue" and table[1][1] == "■ green ACTIVE"
        assert "50%" in table[2][2] and "50%" in table[3][2]
        assert len(table) == 4  # no duplicate or ghost rows


async def test_nodes_control_plane_first_counts_and_cordon():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = rows(app, "nodes")
        assert [r[0] for r in table] == ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "worker-3"]
        assert table[0][1] == "control-plane" and "NoSchedule" in table[0][6]
        counts = {r[0]: int(r[5]) for r in table}
        assert counts == {"cp-1": 0, "cp-2": 0, "cp-3": 0, "worker-1": 3, "worker-2": 4, "worker-3": 7}
        app.cache.put("nodes", b.node("worker-1", unschedulable=True))
        app.cache.remove("pods", "uid-shop-web-blue-blu5d9-a1")
        await settle(pilot)
        row = next(r for r in rows(app, "nodes") if r[0] == "worker-1")
        assert row[4] == "⊘ cordoned" and row[5] == "2"
        header = app.query_one("#nodes .pane-header").render()
        assert "v1.32.4" in str(header) and "skew ok" in str(header)


async def test_nodes_header_shows_skew_violation():
    objs = b.demo_objects()
    objs["nodes"][3] = b.node("worker-1", version="v1.29.0")
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        header = str(app.query_one("#nodes .pane-header").render())
        assert "skew violation" in header and "worker-1" in header


async def test_events_warnings_newest_first_and_trim():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = rows(app, "events")
        assert [r[2].split(" · ")[0] for r in table] == ["Failed", "ProgressDeadlineExceeded"]  # no Normal
        assert table[1][2] == "ProgressDeadlineExceeded · ReplicaSet has timed out progressing"
        assert table[0][0] == "30s" and table[0][1] == "shop pod/checkout-9f8e-q9"
        app.cache.put("events", b.event("shop", "ev9", "BackOff", "Back-off restarting", "Pod", "x",
                                        when="2026-01-01T11:59:55Z"))
        await settle(pilot)
        assert rows(app, "events")[0][2] == "BackOff · Back-off restarting" and rows(app, "events")[0][0] == "5s"


async def test_traffic_idle_colour_not_ready_and_empty_backend_flagged():
    objs = b.demo_objects()
    objs["deployments"][1] = b.deployment("shop", "web-green", ready=1, labels={"app": "web", "color": "green"})
    objs["httproutes"][0] = b.httproute("shop", "api", {"api-stable": 50, "missing": 50})
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = rows(app, "traffic")
        assert table[1][2] == "✘ not ready"
        assert table[3][1] == "→ missing" and table[3][3].startswith("✘ 0/0 · w")


async def test_event_count_is_shown():
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        raw = b.event("shop", "ev1", "Failed", "again", "Pod", "checkout-9f8e-q9", when="2026-01-01T11:59:58Z")
        raw["count"] = 7
        app.cache.put("events", raw)
        await settle(pilot)
        assert rows(app, "events")[0][2] == "Failed ×7 · again" and rows(app, "events")[0][0] == "2s"
        assert len(rows(app, "events")) == 2


async def test_mass_removal_rebuilds_table_consistently():
    objs = b.demo_objects()
    objs["events"] = [b.event("shop", f"e{i}", "BackOff", f"m{i}", "Pod", f"p{i}",
                              when=f"2026-01-01T11:{i // 60:02d}:{i % 60:02d}Z") for i in range(120)]
    app = make_app(objs)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert len(rows(app, "events")) == 120 and rows(app, "events")[0][2] == "BackOff · m119"
        for i in range(100):
            app.cache.remove("events", f"uid-shop-e{i}")
        await settle(pilot)
        assert [r[2] for r in rows(app, "events")] == [f"BackOff · m{i}" for i in range(119, 99, -1)]
