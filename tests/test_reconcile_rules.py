"""The rules reconcile decides by: freeze windows (dates and cron), change detection, the Lease record."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from meshops.source.envconfig import EnvConfig
from meshops.model.errors import ConfigError
from meshops.reconcile.changes import changed_paths, impact
from meshops.pipeline.cron import Cron, CronError
from meshops.pipeline.freeze import Frozen, check_freeze, open_windows
from meshops.reconcile.lock import Attempt
from meshops.yamlio.documents import load_one

UTC = timezone.utc


def env_config(text: str) -> EnvConfig:
    document = load_one(text.encode(), filename="environments/prod/meshops.yaml")
    return EnvConfig(name="prod", file="environments/prod/meshops.yaml", data=document.data, document=document)


WEEKEND = 'freeze:\n  - {cron: "0 16 * * fri", duration: 64h, reason: weekend}\n'


@pytest.mark.parametrize("moment, frozen", [
    (datetime(2025, 6, 6, 15, 59, tzinfo=UTC), False),  # Friday before 16:00
    (datetime(2025, 6, 6, 16, 0, tzinfo=UTC), True),  # opens on the minute
    (datetime(2025, 6, 8, 23, 0, tzinfo=UTC), True),  # Sunday night
    (datetime(2025, 6, 9, 7, 59, tzinfo=UTC), True),  # Monday 07:59 (16:00 + 64h = Monday 08:00)
    (datetime(2025, 6, 9, 8, 0, tzinfo=UTC), False),
    (datetime(2025, 6, 11, 12, 0, tzinfo=UTC), False),  # Wednesday
])
def test_a_weekly_cron_window_is_open_from_its_start_for_its_duration(moment, frozen):
    assert bool(open_windows(env_config(WEEKEND), moment)) is frozen


def test_a_date_range_includes_the_whole_last_day():
    config = env_config('freeze:\n  - {from: "2025-12-20", to: "2026-01-02", reason: year end}\n')
    assert open_windows(config, datetime(2026, 1, 2, 23, 59, tzinfo=UTC))
    assert not open_windows(config, datetime(2026, 1, 3, 0, 0, tzinfo=UTC))
    assert not open_windows(config, datetime(2025, 12, 19, 23, 59, tzinfo=UTC))


def test_a_frozen_environment_says_why_until_when_and_where():
    with pytest.raises(Frozen) as caught:
        check_freeze(env_config(WEEKEND), datetime(2025, 6, 7, 10, 0, tzinfo=UTC), override=None)
    assert caught.value.one_line() == (
        "error: environment prod is frozen: freeze window (weekend) until 2025-06-09 08:00 UTC, declared at "
        'environments/prod/meshops.yaml:2 (wait, or pass --override-freeze "why this cannot wait")'
    )
    window = check_freeze(env_config(WEEKEND), datetime(2025, 6, 7, 10, 0, tzinfo=UTC), override="hotfix")
    assert window is not None and window.reason == "weekend"


@pytest.mark.parametrize("entry, message", [
    ('{cron: "0 16 * * fri", reason: x}', "a cron freeze window needs a duration"),
    ('{cron: "0 16 * fri", duration: 1h, reason: x}', "expected 5 fields"),
    ('{cron: "0 25 * * *", duration: 1h, reason: x}', "hour: 25 is outside 0-23"),
    ('{cron: "0 1 * * funday", duration: 1h, reason: x}', "day of week: 'funday' is not a number or one of sun"),
    ('{from: "next week", reason: x}', "freeze from/to"),
    ('{reason: x}', "needs from/to or cron + duration"),
])
def test_a_broken_freeze_window_is_a_config_error_at_its_line(entry, message):
    with pytest.raises(ConfigError) as caught:
        open_windows(env_config(f"description: x\nfreeze:\n  - {entry}\n"), datetime(2025, 1, 1, tzinfo=UTC))
    assert message in caught.value.message
    assert str(caught.value.location) == "environments/prod/meshops.yaml:3"


def test_cron_fields_accept_ranges_steps_lists_and_names():
    cron = Cron.parse("*/15 9-17 * jan,jul mon-fri")
    assert cron.minutes == {0, 15, 30, 45} and cron.hours == set(range(9, 18))
    assert cron.months == {1, 7} and cron.weekdays == {1, 2, 3, 4, 5}
    assert Cron.parse("0 0 * * 7").weekdays == {0}
    with pytest.raises(CronError):
        Cron.parse("0 0 * * 5-1")


def test_when_both_day_fields_are_restricted_either_one_matches():
    cron = Cron.parse("0 0 13 * fri")  # the 13th, and every Friday (cron's rule)
    assert cron.day_matches(datetime(2025, 6, 13, tzinfo=UTC))  # a Friday the 13th
    assert cron.day_matches(datetime(2025, 5, 13, tzinfo=UTC))  # a Tuesday
    assert cron.day_matches(datetime(2025, 6, 6, tzinfo=UTC))  # a Friday
    assert not cron.day_matches(datetime(2025, 6, 5, tzinfo=UTC))


def test_impact_names_the_changed_files_of_the_environment_only():
    changed = ["README.md", "environments/prod/values.yaml", "environments/staging/values.yaml"]
    prod = impact("prod", applied="a" * 40, target="b" * 40, changed=changed)
    dev = impact("dev", applied="a" * 40, target="b" * 40, changed=changed)
    assert prod.affected and prod.files == ("environments/prod/values.yaml",)
    assert not dev.affected and dev.reason.startswith("no change under environments/dev/")
    assert impact("dev", applied=None, target="b" * 40, changed=None).reason == "never reconciled by meshops"
    assert impact("dev", applied="a" * 40, target="b" * 40, changed=None).affected  # history rewritten


def test_an_environment_named_like_a_prefix_of_another_is_not_affected_by_it():
    assert not impact("dev", applied="a" * 40, target="b" * 40, changed=["environments/dev2/values.yaml"]).affected


def test_changed_paths_come_from_git_objects_and_include_both_sides_of_a_rename(example_repo):
    before = example_repo.head.commit.hexsha
    example_repo.git.mv("templates/telemetry.yaml.j2", "templates/observability.yaml.j2")
    example_repo.index.commit("rename")
    after = example_repo.head.commit.hexsha
    assert changed_paths(example_repo, before, after) == ["templates/observability.yaml.j2", "templates/telemetry.yaml.j2"]
    assert changed_paths(example_repo, "0" * 40, after) is None  # not in the repository


def test_the_attempt_record_survives_its_annotation_and_rejects_garbage():
    attempt = Attempt(revision="a" * 40, phase="Failed", stage="rollout", reason="reviews rolled back", by="pod-1")
    assert Attempt.from_annotation(attempt.to_annotation()) == attempt
    assert Attempt.from_annotation("{not json") is None
    assert Attempt.from_annotation('{"phase": "Failed"}') is None


def test_rollouts_hold_back_promotion_while_active_and_fail_it_only_for_this_revision():
    from meshops.reconcile.rollouts import summarize

    head, older = "b" * 40, "a" * 40
    running = summarize([{"virtualService": "reviews", "phase": "Progressing", "revision": head}], revision=head)
    assert (running.phase, running.reason) == ("Progressing", "rollouts still running: reviews (Progressing)")
    failed = summarize([{"virtualService": "reviews", "phase": "Failed", "revision": head, "reason": "5xx 7%"}], revision=head)
    assert (failed.phase, failed.reason) == ("Failed", "rollout failed: reviews (5xx 7%)")
    stale = summarize([{"virtualService": "reviews", "phase": "Failed", "revision": older}], revision=head)
    assert stale.phase == "Succeeded" and stale.reason == "no rollout started"
    done = summarize([{"virtualService": "reviews", "phase": "Succeeded", "revision": head}], revision=head)
    assert (done.phase, done.reason) == ("Succeeded", "1 rollouts succeeded")
