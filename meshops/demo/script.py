"""The demo's story, told with the real CLI: mistake caught, plan, apply, a good canary, a bad one.

Each step prints what it is about, then the command exactly as a person would type it, then what
meshops printed. The commands run as subprocesses against the demo world (`world.DemoWorld`),
so what the demo shows is what the CLI does.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from typing import Callable

from .world import ENVIRONMENT, SERVICE, DemoWorld

Say = Callable[[str], None]

# The seed article's own typo, put into dev's values: Istio's field is tcpKeepalive.
SEEDED_MISTAKE = """
  productpage:
    trafficPolicy:
      connectionPool:
        tcp:
          keepAlive:
            time: 7200s
"""


class Story:
    """Runs CLI commands for the demo and prints them the way a terminal session reads."""

    def __init__(self, world: DemoWorld, say: Say, *, colour: bool) -> None:
        self.world = world
        self.say = say
        self.colour = colour
        self.env = {**os.environ, "MESHOPS_CACHE_DIR": str(world.workdir / "cache")}
        self.env.pop("MESHOPS_DEBUG", None)

    def heading(self, text: str) -> None:
        self.say("")
        self.say(f"\033[1m== {text}\033[0m" if self.colour else f"== {text}")

    def meshops(self, *args: str, show: Callable[[str], bool] | None = None) -> subprocess.CompletedProcess:
        """Run `meshops ARGS` against the demo world; stream its output, or only the lines `show` keeps."""
        shown = ["meshops", *args]
        self.say("$ " + " ".join(shlex.quote(a) if not a.startswith(str(self.world.workdir)) else a.replace(str(self.world.workdir), "$DEMO") for a in shown))
        command = [sys.executable, "-m", "meshops", *args]
        if show is None:
            completed = subprocess.run(command, env=self.env, cwd=self.world.repo_dir)
            return completed
        completed = subprocess.run(command, env=self.env, cwd=self.world.repo_dir, capture_output=True, text=True)
        for line in (completed.stdout + completed.stderr).splitlines():
            if show(line):
                self.say("  " + line)
        return completed


_PLAN_HEADER = re.compile(r"^[+~!-] [A-Z][A-Za-z]+ \S+ \((create|update|prune|conflict)")


def _plan_line(line: str) -> bool:
    """Object headers, route summaries and the summary of `meshops diff` (not the YAML lines)."""
    return bool(_PLAN_HEADER.match(line)) or line.startswith("  route ") or " to create, " in line


def run_demo(world: DemoWorld, *, say: Say, colour: bool) -> list[str]:
    """Tell the whole story; returns the lines of the final summary."""
    story = Story(world, say, colour=colour)
    summary: list[str] = []
    cluster = world.cluster_args
    started = time.monotonic()

    story.heading("1. A config repository in git, a cluster, a mesh")
    say(f"config repo: {world.repo_dir} (a git copy of the example Bookinfo repo)")
    say(f"cluster:     meshops sandbox at {world.server.url} with Istio's CRDs (no real cluster needed)")
    say(f"traffic:     a synthetic mesh serving Istio metrics at {world.simulator.url}")
    if world.prometheus is not None:
        say(f"Prometheus:  a real Prometheus at {world.prometheus.url}, scraping the mesh every second")
        world.set_policy(world.prometheus.url)
    else:
        say(f"Prometheus:  not available — {world.prometheus_note}; the canary steps (5 and 6) are skipped")
    world.edit(f"environments/{ENVIRONMENT}/values.yaml", "services:\n  reviews:\n    # A fixed split held by hand while v3 is tried out: 80 % v1, 20 % v3.\n    canary:\n      version: v3\n      weight: 20\n",
               "services:\n  reviews: {}\n")
    commit = world.commit("demo: dev without the hand-held v3 split; fast rollout policy")
    say(f"git: {commit} demo: dev without the hand-held v3 split; fast rollout policy")

    story.heading("2. A mistake from the Istio guide, caught before anything reaches the cluster")
    world.edit(f"environments/{ENVIRONMENT}/values.yaml", "services:\n  reviews: {}\n", "services:\n  reviews: {}" + SEEDED_MISTAKE)
    commit = world.commit("dev: keep productpage connections alive")
    say(f"git: {commit} dev: keep productpage connections alive   (uses the guide's field name keepAlive)")
    result = story.meshops("validate", "--env", ENVIRONMENT, *cluster)
    say(f"exit code {result.returncode}: an error-level finding, with the values file and line to edit")
    world.edit(f"environments/{ENVIRONMENT}/values.yaml", SEEDED_MISTAKE, "\n")
    commit = world.commit("dev: fix — the field is tcpKeepalive (already set in base)")
    say(f"git: {commit} dev: fix — the field is tcpKeepalive (already set in base)")
    result = story.meshops("validate", "--env", ENVIRONMENT, *cluster)
    summary.append(f"validate caught the guide's keepAlive typo at its file:line; fixed in {commit}")

    story.heading("3. Plan, then apply (dependency order, every write guarded)")
    result = story.meshops("diff", "--env", ENVIRONMENT, *cluster, show=_plan_line)
    say(f"exit code {result.returncode} (as kubectl diff: 1 = there are differences)")
    result = story.meshops("apply", "--env", ENVIRONMENT, "--yes", *cluster, show=lambda line: "write requests" in line)
    if result.returncode != 0:
        raise RuntimeError(f"demo: apply failed:\n{result.stdout}{result.stderr}")
    result = story.meshops("diff", "--env", ENVIRONMENT, *cluster, show=lambda line: " to create, " in line)
    summary.append("applied the dev environment; a second diff is clean (exit 0)")

    if world.prometheus is None:
        summary.append("skipped the canary steps: install Prometheus (apt-get install prometheus) to see them")
        return summary
    world.follow_weights()

    story.heading(f"4. A new {SERVICE} version in git: a progressive canary, gated on Prometheus")
    world.edit("environments/base/values.yaml", "  reviews:\n    port: 9080\n    version: v1\n", "  reviews:\n    port: 9080\n    version: v2\n")
    commit = world.commit(f"{SERVICE}: release v2")
    say(f"git: {commit} {SERVICE}: release v2")
    story.meshops("diff", "--env", ENVIRONMENT, *cluster, show=_plan_line)
    say("the route keeps v1 at 100 % and adds v2 at 0 %: the rollout, not git, moves the weights")
    result = story.meshops("apply", "--env", ENVIRONMENT, "--yes", "--wait", "--timeout", "5m", *cluster)
    say(f"exit code {result.returncode}: {'v2 promoted' if result.returncode == 0 else 'the rollout did not succeed'}")
    summary.append(f"{SERVICE} v2 rolled out step by step and was promoted (exit {result.returncode})")

    story.heading(f"5. A bad {SERVICE} version: rolled back by itself, with the reason")
    world.edit("environments/base/values.yaml", "  reviews:\n    port: 9080\n    version: v2\n", "  reviews:\n    port: 9080\n    version: v3\n")
    commit = world.commit(f"{SERVICE}: release v3")
    say(f"git: {commit} {SERVICE}: release v3   (the synthetic mesh makes a quarter of v3's requests fail)")
    result = story.meshops("apply", "--env", ENVIRONMENT, "--yes", "--wait", "--timeout", "5m", *cluster)
    say(f"exit code {result.returncode}: {'rolled back, v2 still serves 100 %' if result.returncode == 1 else 'unexpected'}")
    story.meshops("rollout", "status", "--env", ENVIRONMENT, *cluster)
    summary.append(f"{SERVICE} v3 failed its success-rate checks and was rolled back to v2 (exit {result.returncode})")
    summary.append(f"the whole story took {time.monotonic() - started:.0f} s")
    return summary
