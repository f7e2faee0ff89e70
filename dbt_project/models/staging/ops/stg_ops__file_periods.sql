-- One row per loaded period file (dc_ledger/projects month, plans year, registry snapshot date) x period, with whether it is the current file for that period (used for the manifest's 'superseded' status; each stg_raw model applies the same macro to its own source).
select * from ({{ period_files('dc_ledger', source('raw', 'dc_ledger'), month_start('report_month')) }}) as dc_ledger_files
union all
select * from ({{ period_files('projects', source('raw', 'projects'), month_start('report_month')) }}) as projects_files
union all
select * from ({{ period_files('plans', source('raw', 'plans'), year_start('year')) }}) as plans_files
union all
select * from ({{ period_files('registry', source('raw', 'registry'), 'cast(snapshot_date as date)') }}) as registry_files
