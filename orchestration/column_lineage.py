"""Column-level lineage: each column of each dbt model → the columns it is computed from, hop by hop
down to the raw tables, and for those the source kind and the headers the column maps accept.

Derived, never listed by hand: from dbt's ``manifest.json`` (every model's compiled SQL and its
dependencies), parsed and qualified with sqlglot, and from the schemas of the tables ingestion
creates (``raw.*`` from the column maps through ``ingestion.load.raw_ddl``, ``ops.*`` from
``ingestion.manifest.MANIFEST_DDL``). A model's own columns are the ones its SELECT produces once
qualified, so the models are read in dependency order and a ``select *`` expands to the columns of
what it reads. No database is opened (dbt may hold the working file).

The rows (``audit.column_lineage``), one per edge of one hop: ``published_table.published_column``
is a model column (a published table's name, or an intermediate or staging model's),
``upstream_table.upstream_column`` a column of a relation that model reads directly: another
model by its name, or a raw or ops table as ``raw.power_bills``. To walk from a published figure
to the inbox, follow ``upstream_table``/``upstream_column`` as the next
``published_table``/``published_column`` until ``upstream_table`` starts with ``raw.``; those rows
carry ``source_kind`` and ``header_aliases``. ``expression`` is the SQL computing the column in
its model, with the model's CTEs and subqueries written out, in terms of the upstream columns.
``transformation``: ``copy`` (the same column, maybe cast), ``rename`` (the same value under another
name), ``aggregate`` (an aggregate or window aggregate over upstream rows is on the way),
``expression`` (anything else). A column computed from no upstream column (a constant, a
``count(*)``) has one row with NULL upstream.

Deriving the whole project takes about 2.5 s (parsing and qualifying ~50 models, on a busy 2-core
machine); results are cached per model (keyed by its compiled SQL and the schemas it reads) in
``column_lineage_cache.json`` beside the manifest, so a build of an unchanged project derives in
0.1 s. The cache also keeps the compiled SQL (keyed by the model's code and the project's macros):
a run that compiled only some models still knows every model's SQL, and only a model changed since
any build is compiled on the spot (``orchestration.dbt_project.compile_models``).

What does not belong here: Dagster (``orchestration/assets/dbt.py`` attaches the result to the
models' materializations), publication (``orchestration/publish.py`` writes the table).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope
from sqlglot.schema import MappingSchema

from ingestion.column_maps import SOURCE_KINDS, source_map
from ingestion.load import raw_ddl
from ingestion.manifest import MANIFEST_DDL
from ingestion.raw_schema import raw_columns

DIALECT = "duckdb"
COLUMNS = ("published_table", "published_column", "upstream_table", "upstream_column", "transformation",
           "expression", "source_kind", "header_aliases")
CACHE_NAME = "column_lineage_cache.json"
TRANSFORMATIONS = ("copy", "rename", "expression", "aggregate")  # in order of strength

# Where the build leaves the rows in the working file (published as audit.column_lineage).
DDL = """create or replace table ops.column_lineage (
    published_table varchar not null,
    published_column varchar not null,
    upstream_table varchar,
    upstream_column varchar,
    transformation varchar not null,
    expression varchar,
    source_kind varchar,
    header_aliases varchar[]
)"""


@dataclass(frozen=True)
class Edge:
    published_table: str
    published_column: str
    upstream_table: str | None
    upstream_column: str | None
    transformation: str
    expression: str | None
    source_kind: str | None = None
    header_aliases: tuple[str, ...] | None = None
    published_node: str = ""           # dbt unique ids, for the Dagster metadata; not published
    upstream_node: str | None = None

    def row(self) -> tuple:
        return (self.published_table, self.published_column, self.upstream_table, self.upstream_column,
                self.transformation, self.expression, self.source_kind,
                list(self.header_aliases) if self.header_aliases is not None else None)


# --- the tables ingestion creates -------------------------------------------------------------------

def _ddl_schemas(ddl: str) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, table) → {column: type} of the ``create table`` statements in ``ddl``."""
    out = {}
    for statement in sqlglot.parse(ddl, read=DIALECT):
        if isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema):
            table = statement.this.this
            out[(table.db, table.name)] = {c.name: c.args["kind"].sql(DIALECT) for c in statement.this.expressions
                                           if isinstance(c, exp.ColumnDef)}
    return out


def ingested_schemas() -> dict[tuple[str, str], dict[str, str]]:
    """The raw and ops tables as ingestion creates them."""
    schemas = _ddl_schemas(MANIFEST_DDL)
    for kind in SOURCE_KINDS:
        schemas.update(_ddl_schemas(raw_ddl(source_map(kind))))
    return schemas


def raw_headers() -> dict[tuple[str, str], tuple[str, tuple[str, ...] | None]]:
    """(raw table, column) → (source kind, the headers the column maps accept; None for lineage columns)."""
    out: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {}
    for kind in SOURCE_KINDS:
        smap = source_map(kind)
        for name in _ddl_schemas(raw_ddl(smap))[("raw", smap.table)]:
            out[(smap.table, name)] = (kind, None)
        for col in smap.columns.values():
            for name in raw_columns(dataclasses.replace(smap, columns={col.name: col})):
                out[(smap.table, name)] = (kind, (*col.aliases, col.name))
    return out


# --- one model --------------------------------------------------------------------------------------

def _relation(relation_name: str) -> tuple[str, str, str]:
    return _key(exp.to_table(relation_name, dialect=DIALECT))


def _key(table: exp.Table) -> tuple[str, str, str]:
    return table.catalog, table.db, table.name


def _hop(expression: exp.Expression) -> str:
    """What one projection does to the column it reads: copy, expression or aggregate."""
    inner = expression.this if isinstance(expression, exp.Alias) else expression
    while isinstance(inner, (exp.Cast, exp.TryCast, exp.Paren)):
        inner = inner.this
    if isinstance(inner, exp.Column):
        return "copy"
    return "aggregate" if inner.find(exp.AggFunc) else "expression"


def _strongest(kinds: Iterable[str]) -> str:
    return max(kinds, key=TRANSFORMATIONS.index, default="copy")


def _split(name: str) -> tuple[str, str]:
    """(table, column) of a lineage node's name ``table.column``."""
    table, _, column = name.rpartition(".")
    return table.strip('"'), column.strip('"')


def _expand(node: Node, names: dict[tuple[str, str, str], str]) -> exp.Expression:
    """The node's projection with every column read from a CTE or subquery replaced by what computes it."""
    expression = node.expression
    expression = (expression.this if isinstance(expression, exp.Alias) else expression).copy()
    replacements: dict[tuple[str, str], exp.Expression] = {}
    for child in node.downstream:
        table, column = _split(child.name)
        if isinstance(child.expression, exp.Table):
            relation = names.get(_key(child.expression))
            schema, _, name = (relation or table).rpartition(".")
            replacement = exp.column(column, table=name, db=schema or None)
        else:
            replacement = _expand(child, names)
            if not isinstance(replacement, (exp.Column, exp.Literal, exp.Paren)):
                replacement = exp.Paren(this=replacement)
        replacements[(table, column)] = replacement

    used: set[tuple[str, str]] = set()

    def substitute(n: exp.Expression) -> exp.Expression:
        key = (n.table, n.name) if isinstance(n, exp.Column) else None
        if key not in replacements:
            return n
        replacement = replacements[key].copy() if key in used else replacements[key]
        used.add(key)
        return replacement

    return expression.transform(substitute, copy=False)


def _paths(node: Node, above: tuple[str, ...] = ()) -> Iterable[tuple[Node, tuple[str, ...]]]:
    """(leaf reading a table, the hop kinds on the way to it) for every path below ``node``."""
    if isinstance(node.expression, exp.Table):
        yield node, above
        return
    kinds = (*above, _hop(node.expression))
    for child in node.downstream:
        yield from _paths(child, kinds)


def model_lineage(sql: str, upstream: dict[tuple[str, str, str], dict[str, str]],
                  names: dict[tuple[str, str, str], str]) -> dict:
    """{"columns": [...], "lineage": {column: [expression, [[catalog, schema, table, column, transformation]...]]}}
    for one model's compiled SQL, given the schemas of the relations it reads."""
    nested: dict = {}
    for (catalog, schema, table), columns in upstream.items():
        nested.setdefault(catalog, {}).setdefault(schema, {})[table] = columns
    mapping = MappingSchema(nested, dialect=DIALECT)
    qualified = qualify(sqlglot.parse_one(sql, read=DIALECT), schema=mapping, dialect=DIALECT,
                        validate_qualify_columns=False, identify=False)
    scope = build_scope(qualified)
    columns = list(scope.expression.named_selects)
    out: dict[str, list] = {}
    for column in columns:
        node = lineage(column, qualified, schema=mapping, dialect=DIALECT, scope=scope, trim_selects=False,
                       copy=False)
        kinds: dict[tuple[str, str, str, str], set[str]] = {}
        for leaf, hops in _paths(node):
            upstream_column = _split(leaf.name)[1]
            relation = _key(leaf.expression)
            if relation not in upstream:
                continue  # a table function (generate_series) or a relation no model is: no column to follow
            kinds.setdefault((*relation, upstream_column), set()).update(hops)
        edges = []
        for (catalog, schema, table, upstream_column), hops in sorted(kinds.items()):
            kind = _strongest(hops)
            if kind == "copy" and upstream_column != column:
                kind = "rename"
            edges.append([catalog, schema, table, upstream_column, kind])
        expression = _expand(node, names)
        while isinstance(expression, exp.Paren):
            expression = expression.this
        out[column] = [expression.sql(DIALECT), edges, _hop(node.expression)]
    return {"columns": columns, "lineage": out}


# --- the project ------------------------------------------------------------------------------------

def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _load_cache(path: Path | None) -> dict:
    if path is None or not path.exists():
        return {"sql": {}, "models": {}}
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
        return {"sql": dict(cache.get("sql", {})), "models": dict(cache.get("models", {}))}
    except (OSError, ValueError):
        return {"sql": {}, "models": {}}


def _save_cache(path: Path | None, cache: dict) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)  # runs sharing the project replace the file whole; entries are keyed by content


def derive(manifest_path: Path, cache_path: Path | None = None,
           compile_models: Callable[[list[str], str], dict[str, str]] | None = None) -> list[Edge]:
    """Every edge of every model of the project in ``manifest_path`` (dbt's manifest.json).

    A model whose compiled SQL is neither in the manifest (the models a build ran) nor in the
    cache for its current code is compiled with ``compile_models`` (model names, the database the
    manifest's relations are in → unique id → SQL); without it, deriving such a model raises."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    project = manifest["metadata"].get("project_name")
    nodes = {uid: n for uid, n in manifest["nodes"].items()
             if n["resource_type"] == "model" and n["package_name"] == project}
    sources = manifest["sources"]
    macros = _digest(sorted((uid, m["macro_sql"]) for uid, m in manifest["macros"].items()
                            if m["package_name"] == project))
    cache = _load_cache(cache_path)
    code_keys = {uid: _digest(n["checksum"]["checksum"], macros) for uid, n in nodes.items()}
    compiled: dict[str, str] = {}
    for uid, node in nodes.items():
        if node.get("compiled_code"):
            compiled[uid] = node["compiled_code"]
            cache["sql"][uid] = [code_keys[uid], node["compiled_code"]]
        elif cache["sql"].get(uid, [None])[0] == code_keys[uid]:
            compiled[uid] = cache["sql"][uid][1]
    missing = sorted(uid for uid in nodes if uid not in compiled)
    if missing:
        if compile_models is None:
            raise RuntimeError("no compiled SQL for the models " + ", ".join(nodes[u]["name"] for u in missing))
        database = nodes[missing[0]]["database"]
        for uid, sql in compile_models([nodes[u]["name"] for u in missing], database).items():
            if uid in nodes:
                compiled[uid] = sql
                cache["sql"][uid] = [code_keys[uid], sql]

    ingested = ingested_schemas()
    headers = raw_headers()
    schemas: dict[str, dict[str, str]] = {}   # unique id → its columns
    relations: dict[str, tuple[str, str, str]] = {}
    names: dict[tuple[str, str, str], str] = {}
    for uid, source in sources.items():
        relations[uid] = _relation(source["relation_name"])
        names[relations[uid]] = f"{source['schema']}.{source['identifier']}"
        columns = ingested.get((source["schema"], source["identifier"]))
        schemas[uid] = columns if columns is not None else {c: "unknown" for c in source.get("columns", {})}
    for uid, node in nodes.items():
        relations[uid] = _relation(node["relation_name"])
        names[relations[uid]] = node["name"]
    by_relation = {relation: uid for uid, relation in relations.items()}

    edges: list[Edge] = []
    for uid in _dependency_order(nodes):
        node = nodes[uid]
        if uid not in compiled:
            raise RuntimeError(f"no compiled SQL for the model {node['name']}")
        deps = [d for d in node["depends_on"]["nodes"] if d in schemas]
        upstream = {relations[d]: schemas[d] for d in deps}
        key = _digest(compiled[uid], sorted((list(r), c) for r, c in upstream.items()))
        entry = cache["models"].get(uid)
        if entry is None or entry[0] != key:
            try:
                entry = [key, model_lineage(compiled[uid], upstream, names)]
            except sqlglot.errors.SqlglotError as exc:
                raise RuntimeError(f"column lineage of the model {node['name']}: {exc}") from exc
            cache["models"][uid] = entry
        result = entry[1]
        documented = node.get("columns", {})
        schemas[uid] = {c: (documented.get(c, {}).get("data_type") or "unknown") for c in result["columns"]}
        for column in result["columns"]:
            expression, column_edges, kind = result["lineage"][column]
            if not column_edges:
                edges.append(Edge(node["name"], column, None, None, kind if kind != "copy" else "expression",
                                  expression, published_node=uid))
            for catalog, schema, table, upstream_column, transformation in column_edges:
                upstream_uid = by_relation[(catalog, schema, table)]
                source_kind, aliases = (headers.get((table, upstream_column), (None, None))
                                        if upstream_uid in sources and schema == "raw" else (None, None))
                edges.append(Edge(node["name"], column, names[(catalog, schema, table)], upstream_column,
                                  transformation, expression, source_kind, aliases, uid, upstream_uid))
    cache["sql"] = {uid: v for uid, v in cache["sql"].items() if uid in nodes}
    cache["models"] = {uid: v for uid, v in cache["models"].items() if uid in nodes}
    _save_cache(cache_path, cache)
    return edges


def _dependency_order(nodes: dict[str, dict]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen:
            return
        seen.add(uid)
        for dep in nodes[uid]["depends_on"]["nodes"]:
            if dep in nodes:
                visit(dep)
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    return order


def write(con: duckdb.DuckDBPyConnection, edges: list[Edge]) -> None:
    """Replace ``ops.column_lineage`` in the working file with ``edges``."""
    rows = pa.table({name: [e.row()[i] for e in edges] for i, name in enumerate(COLUMNS)},
                    schema=pa.schema([(name, pa.list_(pa.string()) if name == "header_aliases" else pa.string())
                                      for name in COLUMNS]))
    con.register("column_lineage_rows", rows)
    try:
        con.execute("begin")  # all or nothing: a run killed here leaves the previous rows
        con.execute("create schema if not exists ops")
        con.execute(DDL)
        con.execute("insert into ops.column_lineage select * from column_lineage_rows "
                    "order by published_table, published_column, upstream_table, upstream_column")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("column_lineage_rows")


def walk_to_raw(edges: list[Edge], table: str, column: str) -> set[tuple[str, str]]:
    """The raw (table, column) pairs a model column is computed from, following the edges down."""
    below: dict[tuple[str, str], list[Edge]] = {}
    for e in edges:
        below.setdefault((e.published_table, e.published_column), []).append(e)
    found, todo, seen = set(), [(table, column)], set()
    while todo:
        here = todo.pop()
        if here in seen:
            continue
        seen.add(here)
        for e in below.get(here, []):
            if e.upstream_table is None:
                continue
            if e.upstream_table.startswith("raw."):
                found.add((e.upstream_table, e.upstream_column))
            else:
                todo.append((e.upstream_table, e.upstream_column))
    return found
