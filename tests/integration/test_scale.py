"""The reconciliation identities of the December 2026 contract on a bigger inbox (the generator's scale 0.1:
30 centers over 31 months, ~400,000 rows), one real run: attributed money adds up exactly, parks add up to
the cluster, pue is the matched ratio, money is DECIMAL(18,2)."""
from __future__ import annotations

import pytest

from tests.integration.conftest import run_pipeline

pytestmark = pytest.mark.integration

STOCK = ("racks_built", "racks_in_use", "compute_general_pflops", "compute_ai_pflops", "compute_hpc_pflops",
         "centers_reporting", "centers_carried_forward")


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    from sample_world import generate

    inbox = tmp_path_factory.mktemp("inbox_0_1")
    generate(inbox, scale=0.1)
    run = run_pipeline(inbox, tmp_path_factory.mktemp("warehouse_0_1"))
    assert run.result.success
    return run


def test_attributed_money_adds_up_exactly(scaled):
    assert not scaled.query("select table_name, column_name from information_schema.columns "
                            "where table_schema = 'marts' and column_name like '%\\_cny' escape '\\' "
                            "and data_type <> 'DECIMAL(18,2)'")
    years = scaled.query("""
        select o.year, o.revenue, o.unattributed, c.revenue, o.tax, o.tax_unattributed, c.tax
        from (select year, coalesce(sum(revenue_cny), 0) as revenue,
                     coalesce(sum(revenue_unattributed_cny), 0) as unattributed, coalesce(sum(tax_cny), 0) as tax,
                     coalesce(sum(tax_unattributed_cny), 0) as tax_unattributed
              from marts.mart_operator_year group by year) as o
        join (select year, coalesce(sum(revenue_attributed_cny), 0) as revenue,
                     coalesce(sum(tax_attributed_cny), 0) as tax
              from marts.mart_center_accounting group by year) as c using (year)""")
    assert sum(1 for y in years if y[3]) >= 2   # years with attributed revenue
    for year, revenue, unattributed, attributed, tax, tax_unattributed, tax_attributed in years:
        assert revenue - unattributed == attributed and tax - tax_unattributed == tax_attributed, year
    assert not scaled.query("select * from marts.mart_operator_year where revenue_cny <> revenue_attributed_cny "
                            "+ revenue_unattributed_cny or tax_cny <> tax_attributed_cny + tax_unattributed_cny")


def test_parks_add_up_to_the_cluster_and_pue_is_the_matched_ratio(scaled):
    sums = ", ".join(f"sum({c}) as {c}" for c in STOCK)
    differ = scaled.query(f"""
        select c.month from marts.mart_cluster_month as c
        left join (select month, {sums} from marts.mart_compute_capacity group by month) as p using (month)
        where {' or '.join(f'abs(coalesce(c.{s}, 0) - coalesce(p.{s}, 0)) > 1e-6' for s in STOCK)}""")
    assert not differ
    assert scaled.query("select count(*) from marts.mart_cluster_month where centers_carried_forward > 0")[0][0]
    assert not scaled.query("select center_code, year from marts.mart_center_accounting "
                            "where abs(pue - energy_kwh_matched / it_energy_kwh_matched) > 1e-12 "
                            "or (pue is null) <> (energy_kwh_matched is null)")
