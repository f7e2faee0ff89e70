-- No published table (schemas marts and audit) has a column holding the raw legal representative: only legal_rep_masked.
{%- set published = ['dim_center', 'dim_firm', 'dim_project', 'dim_month', 'fct_center_month', 'fct_power_bill',
                     'fct_project_month', 'fct_firm_quarter', 'mart_center_ledger', 'mart_center_accounting',
                     'mart_compute_capacity', 'mart_investment_funnel', 'mart_center_plan', 'audit_file_manifest',
                     'audit_rejected_rows', 'audit_parse_warnings', 'audit_superseded_bills',
                     'audit_unresolved_firms', 'audit_unclaimed_accounts', 'audit_lineage', 'audit_lineage_files'] %}
{%- for m in published %}
-- depends_on: {{ ref(m) }}
{%- endfor %}
select table_schema, table_name, column_name
from information_schema.columns
where table_schema in ('marts', 'audit')
  and (lower(column_name) like '%legal_rep%' or column_name like '%法定代表人%' or lower(column_name) like '%legal_representative%')
  and lower(column_name) <> 'legal_rep_masked'
