//! `GET /self/v1/data` (§7 view): the person's data by the 11 categories of the classification,
//! each item with its level badge, whether the platform holds it, where (table, rows, latest
//! date) and, for the cheap ones, its values. Level-3 values only after the fresh factor, and
//! never to a proxy (a guardian's level-3 view needs a face check the safe box does not offer).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use yibao_privacy::proxy::{ProxyAction, Relation, ADULT_FROM_YEARS};
use yibao_privacy::{builtin, ItemSet, Level, ValueContext};
use yibao_store::Decision;

use crate::auth::{acting, signed_in};
use crate::error::SelfError;
use crate::SharedState;

/// My data.
pub const DATA: &str = "/self/v1/data";

/// The data endpoint.
pub fn routes() -> Router<SharedState> {
    Router::new().route(DATA, get(my_data))
}

/// Reads the query: only `for` is known.
pub fn for_of(query: &HashMap<String, String>) -> Result<Option<String>, SelfError> {
    if let Some(unknown) = query.keys().find(|key| key.as_str() != "for") {
        return Err(SelfError::bad(
            unknown.clone(),
            "is not a parameter here (only `for`)",
        ));
    }
    Ok(query.get("for").cloned())
}

async fn my_data(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, SelfError> {
    let me = signed_in(&state, &headers).await?;
    let subject = for_of(&query)?;
    let catalogue = builtin();
    let below_l3: ItemSet = catalogue
        .items()
        .filter(|item| item.level < Level::L3)
        .map(|item| item.code)
        .collect();
    // A proxy sees no level-3 values, and a delegate (or a guardian of an adult) only the
    // delegation's items.
    let items = match subject.as_deref() {
        Some(other) if other != me.session.psn_no => {
            let facts = state
                .store
                .proxy_facts(&me.session.psn_no, other, me.now_ms)
                .await?;
            match facts {
                Some(facts)
                    if facts.delegation.is_some()
                        && !(facts.relation == Relation::Guardian
                            && facts.subject_age_years < ADULT_FROM_YEARS) =>
                {
                    facts
                        .delegation
                        .map(|d| d.items.intersection(&below_l3))
                        .unwrap_or_default()
                }
                _ => below_l3.clone(),
            }
        }
        _ => below_l3.clone(),
    };
    let view = ProxyAction::View {
        items: items.clone(),
        level: Level::L2,
    };
    let who = acting(&state, &me, subject.as_deref(), &view, "GET /self/v1/data").await?;
    let visible: Option<ItemSet> = who.facts.as_ref().map(|_| items.clone());
    let level3_open = who.facts.is_none() && me.fresh();
    let event = who.event(
        me.now_ms,
        "safebox.view",
        "GET /self/v1/data",
        Decision::Permit,
        format!("level3={}", if level3_open { "shown" } else { "withheld" }),
    );
    let holdings = state.store.safebox_holdings(&event).await?;

    let tables: HashMap<&str, &yibao_store::safebox::TableHeld> =
        holdings.tables.iter().map(|t| (t.table, t)).collect();
    let values: HashMap<&str, &Vec<String>> = holdings
        .values
        .iter()
        .map(|(field, list)| (field.as_str(), list))
        .collect();
    let context = ValueContext {
        subject_age_years: holdings.age_years,
        ..ValueContext::default()
    };
    let mut categories = Vec::new();
    for category in catalogue.categories() {
        let mut items = Vec::new();
        for item in catalogue.items().filter(|i| i.category == category.code) {
            let level = catalogue.level_of(item.code, &context);
            let mut sources = Vec::new();
            let mut shown = Vec::new();
            for field in &item.fields {
                let Some((table, _)) = field.split_once('.') else {
                    continue;
                };
                if let Some(held) = tables.get(table) {
                    if held.rows > 0 && !sources.iter().any(|s: &Value| s["table"] == table) {
                        sources.push(json!({
                            "table": table,
                            "rows": held.rows,
                            "latest": held.latest,
                        }));
                    }
                }
                // The settlement sums are shown once, as the summary below.
                if table == "settlement" {
                    continue;
                }
                if let Some(list) = values.get(field.as_str()) {
                    shown.extend(list.iter().cloned());
                }
            }
            let in_view = visible.as_ref().is_none_or(|v| v.contains(item.code));
            let values = if !in_view {
                json!({"withheld": "outside what you may see for this person"})
            } else if shown.is_empty() {
                Value::Null
            } else if level == Level::L3 && !level3_open {
                json!({"withheld": "level 3: confirm with your e-voucher again (POST /self/v1/sessions/factor)"})
            } else {
                json!(shown)
            };
            items.push(json!({
                "code": item.code.as_str(),
                "name_zh": item.name_zh,
                "name_en": item.name_en,
                "level": level.number(),
                "held": !sources.is_empty(),
                "sources": sources,
                "absent": item.absent,
                "values": values,
            }));
        }
        categories.push(json!({
            "code": format!("C{}", category.code.number()),
            "name_zh": category.name_zh,
            "name_en": category.name_en,
            "items": items,
        }));
    }
    // The last year's settlements (ST01, level 2), summed in fen; reversals count negative.
    let sum = |column: &str| -> Value {
        values
            .get(format!("settlement.{column}").as_str())
            .and_then(|list| list.first())
            .and_then(|text| text.parse::<i64>().ok())
            .map_or(Value::Null, |n| json!(n))
    };
    let st01 = yibao_privacy::classification::item("ST01");
    let settlements = if visible.as_ref().is_none_or(|v| v.contains(st01)) {
        json!({
            "since_days": 365,
            "count": sum("setl_id"),
            "medfee_sumamt_fen": sum("medfee_sumamt"),
            "fund_pay_sumamt_fen": sum("fund_pay_sumamt"),
            "psn_cash_pay_fen": sum("psn_cash_pay"),
        })
    } else {
        json!({"withheld": "outside what you may see for this person"})
    };
    Ok(Json(json!({
        "settlements_last_year": settlements,
        "subject": who.who.subject,
        "as_proxy": who.facts.as_ref().map(|_| who.relation()),
        "age_years": holdings.age_years,
        "level3_open": level3_open,
        "leaf_index": holdings.leaf_idx,
        "categories": categories,
    })))
}
