"""The registry contract: every metric fully declared, ids of the JSON contract present."""

from __future__ import annotations

from btcmacro import catalog
from btcmacro.registry import REGISTRY

CONTRACT_IDS = """fed_total_assets fed_total_assets_peak qt_runoff_since_peak qt_status reserves
reserves_to_gdp on_rrp tga net_liquidity sofr iorb sofr_iorb_spread_bp
sofr_at_or_above_range_top_days_60 m2 m2_yoy m2_record_high rmp_annual_growth_projection
payrolls_change payrolls_negative_months_of_7 jolts_openings quits_rate unemployment_rate sahm_rule
core_pce_yoy cpi_yoy policy_rate_upper policy_rate_lower btc_price btc_ma_50d btc_ma_200d btc_ma_200w
btc_ath btc_drawdown_from_ath realized_cap realized_price mvrv nupl realized_cap_growth_30d
supply_in_loss realized_loss_usd sth_cost_basis sopr hashrate difficulty
difficulty_change_last_adjustment difficulty_largest_drop_365d hashprice production_cost funding_rate
open_interest etf_netflow_5d etf_cost_basis stablecoin_supply stablecoin_supply_change_30d fear_greed
gold_price gold_btc_corr_30d""".split()


def test_every_contract_id_is_declared():
    missing = [i for i in CONTRACT_IDS if i not in REGISTRY]
    assert not missing, missing


def test_every_metric_is_fully_declared():
    for m in REGISTRY.values():
        assert m.unit and m.definition and m.citation, m.id
        assert m.names.get("en") and m.names.get("zh-TW"), m.id
        assert m.variants, m.id
        for i in m.inputs:
            assert i in catalog.SERIES, (m.id, i)
        assert m.frequency in ("daily", "weekly", "monthly", "quarterly", "irregular", "event"), m.id
