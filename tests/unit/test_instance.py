"""The Dagster instance beside the warehouse: its dagster.yaml and its kept-connection event log."""
import threading

import dagster as dg
import pytest

from orchestration.instance import HEADER, KeptConnectionSqliteEventLogStorage, ensure_dagster_home


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    return ensure_dagster_home()


@dg.asset
def small_asset() -> int:
    return 1


@dg.asset_check(asset=small_asset)
def small_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _run(instance):
    job = dg.Definitions(assets=[small_asset], asset_checks=[small_check]).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=instance)


def test_the_instance_uses_the_kept_connection_event_log(home):
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage) is KeptConnectionSqliteEventLogStorage
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1 and config.run_queue_config.max_concurrent_runs == 1


def test_events_are_visible_to_another_instance_and_survive_a_restart(home):
    with dg.DagsterInstance.from_config(str(home)) as writer:
        result = _run(writer)
        assert result.success
        stored = len(writer.all_logs(result.run_id))
        # another process (the UI) reads while the writer still holds its connections
        with dg.DagsterInstance.from_config(str(home)) as reader:
            assert len(reader.all_logs(result.run_id)) == stored > 5
            mat = reader.get_latest_materialization_event(dg.AssetKey("small_asset"))
            assert mat is not None and mat.run_id == result.run_id
            check = reader.event_log_storage.get_latest_asset_check_execution_by_key(
                [dg.AssetCheckKey(dg.AssetKey("small_asset"), "small_check")])
            assert check and next(iter(check.values())).run_id == result.run_id
    with dg.DagsterInstance.from_config(str(home)) as again:
        assert again.get_run_by_id(result.run_id).is_success
        assert len(again.all_logs(result.run_id)) == stored


def test_tables_are_looked_up_once_and_again_after_a_wipe(home, monkeypatch):
    """Dagster asks whether a table exists before most writes, on a new engine each time."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    looked_up = []
    stock = SqliteEventLogStorage.has_table
    monkeypatch.setattr(SqliteEventLogStorage, "has_table",
                        lambda self, name: looked_up.append(name) or stock(self, name))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert _run(instance).success
        assert storage.has_table("asset_check_executions") and not storage.has_table("no_such_table")
        after_first = len(looked_up)
        assert _run(instance).success and storage.has_table("asset_check_executions")
        assert [name for name in looked_up[after_first:] if name != "no_such_table"] == []
        assert not storage.has_table("no_such_table")  # a missing table is looked up every time
        assert looked_up[-1] == "no_such_table"
        storage.wipe()
        assert storage.has_table("asset_check_executions") and looked_up[-1] == "asset_check_executions"
        check = storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("small_asset"), "small_check")])
        assert check == {}  # wiped, and still queried through the real table


def test_a_watcher_of_a_run_sees_events_stored_by_another_instance(home):
    """The UI follows a running run by watching its database file: a new event must wake it."""
    with dg.DagsterInstance.from_config(str(home)) as writer, dg.DagsterInstance.from_config(str(home)) as ui:
        first = _run(writer)
        seen, woke = [], threading.Event()

        def on_event(entry, _cursor):
            message = entry.dagster_event.message if entry.dagster_event else entry.user_message
            seen.append(message)
            if message == "a later event":
                woke.set()

        ui.event_log_storage.watch(first.run_id, None, on_event)
        try:
            writer.report_engine_event("a later event", writer.get_run_by_id(first.run_id))
            assert woke.wait(timeout=20), f"the watcher was not woken; it saw {seen}"
        finally:
            ui.event_log_storage.end_watch(first.run_id, on_event)


def test_our_dagster_yaml_is_kept_up_to_date_and_a_foreign_one_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "ours"))
    ours = ensure_dagster_home() / "dagster.yaml"
    ours.write_text(HEADER + "telemetry:\n  enabled: false\n", encoding="utf-8")  # an older version of ours
    ensure_dagster_home()
    assert "KeptConnectionSqliteEventLogStorage" in ours.read_text(encoding="utf-8")

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "theirs"))
    (tmp_path / "theirs").mkdir()
    theirs = tmp_path / "theirs" / "dagster.yaml"
    theirs.write_text("telemetry:\n  enabled: true\n", encoding="utf-8")
    ensure_dagster_home()
    assert theirs.read_text(encoding="utf-8") == "telemetry:\n  enabled: true\n"


def test_a_run_stores_its_events_through_kept_connections(home):
    """What the subclass is for: Dagster's SQLite event log stores every event on a new connection (an
    fsync of the WAL each); through ``_connect`` ours reuses one per database file. Should Dagster store
    events some other way, connections would again open per event and this fails."""
    import sqlalchemy as sa

    opened = []

    def on_connect(dbapi_connection, _record):  # the event log's databases only (not the run storage's)
        path = dbapi_connection.execute("PRAGMA database_list").fetchall()[0][2]
        if "/history/runs/" in path:
            opened.append(path)

    sa.event.listen(sa.engine.Engine, "connect", on_connect)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            result = _run(instance)
            run = instance.get_run_by_id(result.run_id)
            before, stored = len(opened), len(instance.all_logs(result.run_id))
            for number in range(30):
                instance.report_engine_event(f"event {number}", run)
            added = len(instance.all_logs(result.run_id)) - stored
    finally:
        sa.event.remove(sa.engine.Engine, "connect", on_connect)
    assert result.success and added == 30
    assert len(opened) - before == 0, f"{len(opened) - before} connections opened to store {added} events"
