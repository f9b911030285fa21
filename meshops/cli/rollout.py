"""`meshops rollout`: see and drive the progressive canaries of an environment.

`status` reads the state from the cluster; `run` drives every active rollout (the engine);
`pause`, `resume`, `promote` and `abort` are one guarded write each. They work from any machine
with the config repo and cluster access: the state lives on the VirtualServices, not here.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Callable

import click

from ..model.errors import ExitCode, MeshopsError, UsageError
from .common import (
    cluster_options,
    env_option,
    operator_from,
    output_option,
    owner_option,
    prometheus_options,
    ref_option,
    repo_option,
    rollout_access_options,
)

F = Callable[..., Any]


def _repo_options(function: F) -> F:
    """--env, --repo, --ref, --cluster: which environment, and which of its clusters."""
    function = click.option("--cluster", default=None, metavar="NAME",
                            help="The cluster of an environment that spans several (default: every cluster).")(function)
    for decorate in (ref_option, repo_option, env_option):
        function = decorate(function)
    return function


def _where_options(function: F) -> F:
    """The cluster and whose rollouts: --kubeconfig, --context, --owner-id."""
    return cluster_options(owner_option(function))


def _timeout_option(function: F) -> F:
    return click.option("--timeout", default=None, metavar="D",
                        help="With --wait: give up waiting after this long (Go duration: 90s, 10m, 1h).")(function)


def parse_timeout(text: str | None) -> float | None:
    from ..model.durations import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as error:
        raise UsageError(f"--timeout: {error}", hint="write it like 90s, 10m or 1h30m") from None


class RolloutEnvironment:
    """The environment's config, its cluster and this repository's rollouts there, as every rollout command needs them.

    Only rollouts whose VirtualService this repository owns (the meshops.dev/owner annotation, or
    none yet) are seen: another repository's environment of the same name is not this one.
    """

    def __init__(self, *, config, connection, owner) -> None:
        from ..pipeline.rollouts import rollout_store

        self.name = config.name
        self.config = config
        self.connection = connection
        self.owner = owner
        self.api = connection.api
        self.store = rollout_store(connection, owner=owner)

    @classmethod
    def open(cls, *, repo: str, ref: str | None, environment: str, operator, cluster: str | None = None) -> RolloutEnvironment:
        """The one cluster a command acts on (`cluster`, or the environment's only one)."""
        from ..pipeline.targets import owner_of, target_of

        source, config = _source_and_config(repo, ref, environment)
        target = target_of(config, operator, cluster=cluster)
        return cls(config=config, connection=target.connect(), owner=owner_of(target, source))

    @classmethod
    def open_all(cls, *, repo: str, ref: str | None, environment: str, operator,
                 cluster: str | None = None) -> list[RolloutEnvironment]:
        """Every cluster of the environment (`cluster` alone when given), connected at once."""
        from ..pipeline.fanout import fan_out
        from ..pipeline.targets import owner_of, targets_of

        source, config = _source_and_config(repo, ref, environment)
        targets = targets_of(config, operator, clusters=(cluster,) if cluster else ())
        results = fan_out(targets, lambda target: cls(config=config, connection=target.connect(),
                                                      owner=owner_of(target, source)))
        for result in results:
            if result.error is not None:
                raise result.error
        return [result.value for result in results]

    @property
    def listed(self) -> bool:
        """Whether the environment lists its clusters (output then names the cluster)."""
        return self.config.cluster(self.connection.target.cluster).listed

    def find(self, service: str):
        """The rollout of `service` in this environment (UsageError when there is none)."""
        matches = [live for live in self.store.list(self.name) if live.ref.name == service]
        if not matches:
            known = ", ".join(live.ref.name for live in self.store.list(self.name)) or "none"
            raise UsageError(f"no rollout of {service!r} in environment {self.name}",
                             hint=f"services with a rollout of this repository: {known} (another repository's rollouts are not "
                                  "shown: check --owner-id)")
        if len(matches) > 1:
            raise UsageError(f"{service!r} has rollouts in several namespaces: {', '.join(str(m.ref) for m in matches)}")
        return matches[0]


def _source_and_config(repo: str, ref: str | None, environment: str):
    from ..source.envconfig import load_env_config
    from ..source.repo import open_source

    source = open_source(repo, ref)
    return source, load_env_config(source.tree, environment)


def drive(connection, config, *, wait: bool, timeout: float | None, operator, owner, store=None) -> int:
    """Drive the environment's active rollouts with progress output; the exit code (0 only if all succeeded)."""
    from ..pipeline.rollouts import active_rollouts, drive_rollouts, metrics_source, notifier_of, rollout_store
    from ..pipeline.targets import config_of
    from .rollout_view import RolloutProgress

    store = store or rollout_store(connection, owner=owner)
    notifier = notifier_of(config, operator=operator)  # receivers' secrets: an error before any write
    refs = active_rollouts(store, config.name, notifier=notifier)
    if not refs:
        click.echo(f"no active rollouts in {config.name}")
        return ExitCode.OK
    metrics_source(config_of(config, connection.target), operator=operator)  # no prometheus.url: an error before any write
    states = {ref.name: store.read(ref).state for ref in refs}
    with RolloutProgress(states) as progress:
        ticks = drive_rollouts(connection, config, owner=owner, refs=refs, store=store, operator=operator, notifier=notifier,
                               wait=wait, timeout=timeout, on_tick=progress)
    return ended(ticks)


def ended(ticks, *, prefix: str = "") -> int:
    """A line per rollout as it ended; the exit code (a failure first, then unreachable, then still running)."""
    from ..rollout.state import Phase

    codes = []
    for tick in ticks:
        state = tick.state
        if tick.error is not None:
            click.echo(f"{prefix}{tick.ref.name}: error: {tick.error}")
            codes.append(ExitCode.UNAVAILABLE)
        elif state is None:
            codes.append(ExitCode.UNAVAILABLE)
        else:
            click.echo(f"{prefix}{tick.ref.name}: {state.phase} ({state.stable} -> {state.canary}): {state.message}")
            codes.append({Phase.SUCCEEDED: ExitCode.OK, Phase.FAILED: ExitCode.CHANGES_OR_FINDINGS,
                          Phase.ABORTED: ExitCode.CHANGES_OR_FINDINGS}.get(state.phase, ExitCode.INCOMPLETE))
    return worst_rollout_code(codes)


def worst_rollout_code(codes) -> int:
    """A failed rollout is the news; then an unreachable cluster; then "still running"."""
    for code in (ExitCode.CHANGES_OR_FINDINGS, ExitCode.UNAVAILABLE, ExitCode.INCOMPLETE):
        if code in codes:
            return code
    return ExitCode.OK


@click.group()
def rollout() -> None:
    """Progressive canaries: status, run, pause, resume, promote, abort, retry, approve, report.

    A rollout starts when `meshops apply` finds that git names a new version for a service; its
    state lives on the VirtualService (annotation meshops.dev/rollout), so any machine can drive
    or inspect it. Each command sees only the rollouts this repository owns (meshops.dev/owner).

    \b
    Examples:
      meshops rollout status --env prod
      meshops rollout run --env prod --wait --timeout 30m
      meshops rollout pause --env prod reviews
      meshops rollout approve --env prod reviews
      meshops rollout promote --env prod reviews --yes
    """


@rollout.command()
@_repo_options
@_where_options
@output_option("text", "json", default="text")
@click.argument("service", required=False)
def status(environment, repo, ref, cluster, kubeconfig, context, owner_id, output, service) -> None:
    """Phase, step, weights and the last check values against their bounds, per rollout (and per cluster)."""
    from ..rollout.decide import next_analysis_at
    from ..rollout.policy import policies
    from ..rollout.state import Phase
    from .rollout_view import status_json, status_lines

    envs = RolloutEnvironment.open_all(repo=repo, ref=ref, environment=environment, cluster=cluster,
                                       operator=operator_from(kubeconfig=kubeconfig, context=context, owner_id=owner_id))
    listed = envs[0].listed
    if service:
        found = [env for env in envs if any(live.ref.name == service for live in env.store.list(environment))]
        envs = found or envs[:1]  # none anywhere: the first explains what exists
    by_cluster = []
    for env in envs:
        rollouts = [env.find(service)] if service else env.store.list(environment)
        rows = []
        for live in rollouts:
            state = live.state
            policy = policies(env.config).of(state.service)
            due = next_analysis_at(state, policy) if state.phase == Phase.PROGRESSING else None
            rows.append((live.ref.name, live.ref.namespace, state, due, policy))
        by_cluster.append((env.connection.target, rows))
    if output == "json":
        if listed:
            click.echo(json.dumps({"environment": environment, "clusters": [
                {"cluster": target.cluster, "rollouts": status_json(rows)} for target, rows in by_cluster]}, indent=2))
        else:
            click.echo(json.dumps({"environment": environment, "rollouts": status_json(by_cluster[0][1])}, indent=2))
        return
    for target, rows in by_cluster:
        prefix = f"{target}: " if listed else ""
        if not rows:
            click.echo(f"no rollouts in {target}")
        for name, namespace, state, due, policy in rows:
            click.echo("\n".join(prefix + line for line in status_lines(name, namespace, state, next_decision_at=due,
                                                                        policy=policy, environment=environment)))


@rollout.command()
@_repo_options
@_where_options
@rollout_access_options
@click.option("--wait", is_flag=True, help="Drive the rollouts until each one ends (default: take the decisions due now, once).")
@_timeout_option
def run(environment, repo, ref, cluster, kubeconfig, context, owner_id, access, wait, timeout) -> None:
    """Drive every active rollout of the environment, each independently (on every cluster at once).

    Exit codes: 0 every rollout succeeded (or none is active), 1 a rollout failed or was aborted,
    3 the cluster or a rollout's VirtualService could not be used, 4 rollouts are still running
    (without --wait, or after --timeout).
    """
    seconds = parse_timeout(timeout)
    operator = operator_from(kubeconfig=kubeconfig, context=context, owner_id=owner_id, access=access)
    envs = RolloutEnvironment.open_all(repo=repo, ref=ref, environment=environment, operator=operator, cluster=cluster)
    if not envs[0].listed:
        (env,) = envs
        sys.exit(drive(env.connection, env.config, wait=wait, timeout=seconds, operator=operator, owner=env.owner,
                       store=env.store))
    sys.exit(_drive_clusters(envs, wait=wait, timeout=seconds, operator=operator))


def _drive_clusters(envs, *, wait: bool, timeout: float | None, operator) -> int:
    """The active rollouts of several clusters at once, a plain line per decision (prefixed by the cluster)."""
    from ..pipeline.fanout import fan_out
    from ..pipeline.rollouts import drive_rollouts

    by_target = {env.connection.target: env for env in envs}

    def one(target):
        env = by_target[target]

        def tick(t) -> None:
            line = t.line()
            if line:
                click.echo(f"{target}: {line}", err=True)

        return drive_rollouts(env.connection, env.config, owner=env.owner, store=env.store, operator=operator, wait=wait,
                              timeout=timeout, on_tick=tick)

    codes = []
    for result in fan_out(list(by_target), one):
        if result.error is not None:
            click.echo(f"error: {result.target}: {result.error.one_line().removeprefix('error: ')}", err=True)
            codes.append(result.exit_code)
        elif not result.value:
            click.echo(f"no active rollouts in {result.target}")
        else:
            codes.append(ended(result.value, prefix=f"{result.target}: "))
    return worst_rollout_code(codes)


def _command(name: str, summary: str, *, confirm: bool = False):
    """One `meshops rollout <name> SERVICE` command: a single guarded write through `control`."""

    def command(environment, repo, ref, cluster, kubeconfig, context, owner_id, service, yes=True) -> None:
        from ..rollout.control import default_actor, run_command
        from ..rollout.event_recorder import EventRecorder

        operator = operator_from(kubeconfig=kubeconfig, context=context, owner_id=owner_id)
        env = _locate(service, RolloutEnvironment.open_all(repo=repo, ref=ref, environment=environment, operator=operator,
                                                           cluster=cluster))
        live = env.find(service)
        if confirm and not yes:
            if not sys.stdin.isatty():
                raise UsageError(f"refusing to {name} without confirmation", hint="pass --yes (stdin is not a terminal)")
            click.confirm(f"{name.capitalize()} {live.state.canary} of {service} now ({live.state.phase}, "
                          f"step {live.state.step}/{len(live.state.weights)}), skipping the remaining analysis?",
                          abort=True, err=True)
        _, decision = run_command(env.store, live.ref, command=name, actor=default_actor(), events=EventRecorder(env.api))
        where = f"{env.connection.target}: " if env.listed else ""
        click.echo(f"{where}{service}: {decision.message}" if decision else f"{where}{service}: already {live.state.phase.lower()}")

    command.__doc__ = summary
    command.__name__ = name
    decorated = click.argument("service")(command)
    if confirm:
        decorated = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(decorated)
    return rollout.command(name)(_repo_options(_where_options(decorated)))


def _locate(service: str, envs: list[RolloutEnvironment]) -> RolloutEnvironment:
    """The one cluster where `service` has a rollout (a usage error when it has one in several: pick with --cluster)."""
    if len(envs) == 1:
        return envs[0]
    found = [env for env in envs if any(live.ref.name == service for live in env.store.list(env.name))]
    if len(found) > 1:
        raise UsageError(f"{service!r} has rollouts in several clusters: " + ", ".join(env.connection.target.cluster for env in found),
                         hint="pick one with --cluster NAME")
    return found[0] if found else envs[0]  # none anywhere: find() names what exists


pause = _command("pause", "Stop advancing a rollout at its current weights (until resume).")
resume = _command("resume", "Let a paused rollout advance again.")
promote = _command("promote", "Send 100 % to the canary now, skipping the remaining analysis.", confirm=True)
abort = _command("abort", "Roll back now: the stable version gets 100 % and stays pinned (no automatic retry).")
retry = _command("retry", "Roll a Failed or Aborted canary out again from 0 % (while git still names it).")
approve = _command("approve", "Let a rollout waiting at an approval gate go on (the next passing analysis moves it).")


@rollout.command()
@click.option("--env", "environment", default=None, metavar="ENV", help="Environment (or give it as the first argument).")
@ref_option
@repo_option
@_where_options
@prometheus_options
@click.option("--html", "html_file", required=True, metavar="FILE", help="Write the report here (one standalone HTML file).")
@click.option("--cluster", default=None, metavar="NAME", help="The cluster of an environment that spans several.")
@click.argument("names", nargs=-1, required=True, metavar="[ENV] SERVICE")
def report(environment, ref, repo, kubeconfig, context, owner_id, access, html_file, cluster, names) -> None:
    """Write one rollout as a standalone HTML file, for a postmortem.

    The dashboard's rollout page frozen into one file: steps, weights, every decision with its
    reason, the last analysis, and a chart over the rollout's lifetime of canary weight, success
    rate and latency against their thresholds (from Prometheus; without it, weights and decisions
    only). No script, no external file: it opens anywhere.

    \b
    Examples:
      meshops rollout report prod reviews --html reviews-incident.html
      meshops rollout report --env prod reviews --html reviews.html --prometheus-url http://localhost:9090
    """
    import time

    from ..dashboard.report import report_html
    from ..dashboard.rollouts import rollout_view
    from ..yamlio.atomic_write import write_atomically

    if len(names) == 2 and environment is None:
        environment, service = names
    elif len(names) == 1 and environment is not None:
        (service,) = names
    else:
        raise UsageError("name the environment and the service", hint="meshops rollout report ENV SERVICE --html FILE")
    operator = operator_from(kubeconfig=kubeconfig, context=context, owner_id=owner_id, access=access)
    env = RolloutEnvironment.open(repo=repo, ref=ref, environment=environment, operator=operator, cluster=cluster)
    live = env.find(service)
    metrics, problem = None, ""
    try:
        from ..pipeline.rollouts import metrics_source
        from ..pipeline.targets import config_of

        metrics = metrics_source(config_of(env.config, env.connection.target), operator=operator)
    except MeshopsError as error:
        problem = error.one_line().removeprefix("error: ")
    now = time.time()
    view = rollout_view(live, environment=environment, cluster=env.connection.target.cluster, config=env.config,
                        metrics=metrics, metrics_problem=problem, now=now)
    try:
        write_atomically(html_file, report_html(view, now=now))
    except OSError as error:
        raise UsageError(f"cannot write {html_file}: {error.strerror}", hint="pass a writable path to --html") from None
    click.echo(f"{service}: {live.state.phase}, {len(view.decisions)} decisions; report written to {html_file}"
               + (f" (metrics: {view.metrics_note})" if view.metrics_note else ""))
