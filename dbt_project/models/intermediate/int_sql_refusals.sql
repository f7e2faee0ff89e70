-- Rows that ingestion loaded but a business rule in SQL refuses: an economics row whose firm resolves to no registry firm, or to several, is refused (spec: bureau/economics). One row per refused source row, with a reason a clerk can act on.
select
    q.file_sha256,
    q.file_path as path,
    q.sheet,
    q.row_number,
    {{ json_object_of([
        ('统一社会信用代码', 'q.uscc_given'), ('企业名称', 'q.firm_name'), ('统计期', 'q.period_raw'),
        ('revenue_cny', 'q.revenue_cny'), ('tax_cny', 'q.tax_cny'), ('employees', 'q.employees')]) }} as raw_values,
    'unresolved_firm' as reason_code,
    case q.resolution_status
        when 'ambiguous_name' then {{ dbt.concat(["'the firm name '", "q.firm_name", "' matches '",
            dbt.safe_cast('q.candidate_count', dbt.type_string()),
            "' registry firms (' ", "q.candidate_usccs", "'): give its 统一社会信用代码'"]) }}
        when 'unmatched_name' then {{ dbt.concat(["'the firm name '", "q.firm_name",
            "' matches no firm of the registry (current or former names), and no valid 统一社会信用代码 is given: give the code or the registered name'"]) }}
        else 'the row names no firm that resolves: give a valid 统一社会信用代码 or the registered name'
    end as message
from {{ ref('int_firm_quarters') }} as q
where q.uscc is null
