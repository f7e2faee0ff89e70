{{ config(alias='lineage') }}
-- For each published table (schemas marts and audit): every upstream model and source it is built from (direct parents and further ancestors), read from the dbt graph.
{{ lineage_rows() }}
