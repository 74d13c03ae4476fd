//! `yibao audit rules|knowledge`: print the shipped audit rules and knowledge tables (the same
//! compiled-in `data/audit/` files the server loads), so a reviewer can plant cases of their own.
//! No database.

use std::process::ExitCode;

use serde_json::{json, Map, Value};
use yibao_audit::{builtin, Knowledge, Rule, Scope};

/// Arguments of `yibao audit rules` and `yibao audit knowledge`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON (the form outside checks read) instead of one line per rule or entry.
    #[arg(long)]
    pub json: bool,
}

/// `yibao audit rules`.
pub fn rules(args: Args) -> anyhow::Result<ExitCode> {
    let shipped = builtin()?;
    if args.json {
        let rules: Vec<Value> = shipped.rules.rules.iter().map(rule_json).collect();
        println!("{}", serde_json::to_string_pretty(&Value::Array(rules))?);
    } else {
        for rule in &shipped.rules.rules {
            let knowledge: Vec<&str> = rule.knowledge.iter().map(|t| t.name()).collect();
            println!(
                "{}\t{}\tsev_deg {}\t{}\t{}",
                rule.rule_id,
                rule.category.code(),
                rule.sev_deg.get(),
                knowledge.join(","),
                rule.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `yibao audit knowledge`.
pub fn knowledge(args: Args) -> anyhow::Result<ExitCode> {
    let shipped = builtin()?;
    let tables = knowledge_json(&shipped.knowledge);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tables)?);
    } else if let Value::Object(tables) = tables {
        for (table, entries) in tables {
            for entry in entries.as_array().into_iter().flatten() {
                println!("{table}\t{entry}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A rule; `tag` (the entries it enforces) only when the rule names one.
fn rule_json(rule: &Rule) -> Value {
    let mut value = json!({
        "rule_id": rule.rule_id,
        "national_code": rule.national_code,
        "rule_name": rule.name,
        "version": rule.version,
        "category": rule.category.code(),
        "sev_deg": rule.sev_deg.get(),
        "phases": rule.phases.iter().map(|p| p.code()).collect::<Vec<_>>(),
        "money_kind": rule.money_kind.code(),
        "executor": rule.executor.kind(),
        "knowledge": rule.knowledge.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "begn_date": rule.begn_date.to_string(),
        "end_date": rule.end_date.map(|d| d.to_string()),
    });
    if let (Some(tag), Value::Object(object)) = (&rule.tag, &mut value) {
        object.insert("tag".into(), json!(tag));
    }
    value
}

/// One entry of the five tables of issue 12 (`sex_limit`, `age_limit`, `quantity_limit`,
/// `exclusive_pair`, `level_limit`): exactly its fields and the scope, whatever its tag (the
/// rules list names the tag a rule enforces).
fn entry(fields: Value, scope: &Scope) -> Value {
    scoped(fields, scope, false)
}

/// One entry of another table: its fields, the scope, and `tag` when it has one.
fn tagged_entry(fields: Value, scope: &Scope) -> Value {
    scoped(fields, scope, true)
}

fn scoped(fields: Value, scope: &Scope, with_tag: bool) -> Value {
    let mut object = match fields {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    if let (true, Some(tag)) = (with_tag, &scope.tag) {
        object.insert("tag".into(), json!(tag));
    }
    object.insert(
        "begn_date".into(),
        json!(scope.begn_date.map(|d| d.to_string())),
    );
    object.insert(
        "end_date".into(),
        json!(scope.end_date.map(|d| d.to_string())),
    );
    object.insert("admdvs".into(), json!(scope.admdvs.map(|a| a.to_string())));
    Value::Object(object)
}

fn knowledge_json(knowledge: &Knowledge) -> Value {
    let mut tables = Map::new();
    tables.insert(
        "sex_limit".into(),
        knowledge
            .sex_limit
            .iter()
            .map(|e| {
                entry(
                    json!({"med_list_codg": e.med_list_codg, "gend": e.gend.code()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "age_limit".into(),
        knowledge
            .age_limit
            .iter()
            .map(|e| {
                entry(
                    json!({"med_list_codg": e.med_list_codg, "min_age": e.min_age, "max_age": e.max_age}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "quantity_limit".into(),
        knowledge
            .quantity_limit
            .iter()
            .map(|e| {
                // A whole count prints as an integer, a fractional one as a decimal string.
                let max_cnt = if e.max_cnt.0 % 10_000 == 0 {
                    json!(e.max_cnt.0 / 10_000)
                } else {
                    json!(e.max_cnt.to_string())
                };
                entry(
                    json!({"med_list_codg": e.med_list_codg, "max_cnt": max_cnt, "per": e.per.code()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "exclusive_pair".into(),
        knowledge
            .exclusive_pair
            .iter()
            .map(|e| {
                entry(
                    json!({"med_list_codg_a": e.med_list_codg_a, "med_list_codg_b": e.med_list_codg_b, "within": e.within.code()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "min_interval".into(),
        knowledge
            .min_interval
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"med_list_codg": e.med_list_codg, "min_days": e.min_days}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "level_limit".into(),
        knowledge
            .level_limit
            .iter()
            .map(|e| {
                entry(
                    json!({"med_list_codg": e.med_list_codg, "min_hosp_lv": e.min_hosp_lv.get()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    for (name, entries) in [
        ("dx_required", &knowledge.dx_required),
        ("dx_excluded", &knowledge.dx_excluded),
    ] {
        tables.insert(
            name.into(),
            entries
                .iter()
                .map(|e| {
                    tagged_entry(
                        json!({"med_list_codg": e.med_list_codg, "dise_codg_prefixes": e.dise_codg_prefixes}),
                        &e.scope,
                    )
                })
                .collect(),
        );
    }
    tables.insert(
        "dx_sex_limit".into(),
        knowledge
            .dx_sex_limit
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"dise_codg_prefix": e.dise_codg_prefix, "gend": e.gend.code()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "dx_age_limit".into(),
        knowledge
            .dx_age_limit
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"dise_codg_prefix": e.dise_codg_prefix, "min_age": e.min_age, "max_age": e.max_age}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "encounter_limit".into(),
        knowledge
            .encounter_limit
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"med_list_codg": e.med_list_codg, "attr": e.attr.code(), "allowed": e.allowed}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "companion".into(),
        knowledge
            .companion
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"med_list_codg": e.med_list_codg, "companion_codes": e.companion_codes, "within": e.within.code()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "days_supply".into(),
        knowledge
            .days_supply
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"scene": e.scene.code(), "max_days": e.max_days}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "early_refill".into(),
        knowledge
            .early_refill
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"med_list_codg": e.med_list_codg, "min_used_pct": e.min_used_pct}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "visit_frequency".into(),
        knowledge
            .visit_frequency
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"med_mdtrt_type": e.med_mdtrt_type.code(), "days": e.days, "max_cnt": e.max_cnt}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "readmission".into(),
        knowledge
            .readmission
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"max_days": e.max_days, "excluded_dise_codg_prefixes": e.excluded_dise_codg_prefixes}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "reference_cost".into(),
        knowledge
            .reference_cost
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({
                        "dise_codg_prefix": e.dise_codg_prefix,
                        "med_mdtrt_type": e.med_mdtrt_type.code(),
                        "ref_amt": e.ref_amt.to_string(),
                        "max_multiple": format!("{}.{:02}", e.max_multiple_pct / 100, e.max_multiple_pct % 100),
                    }),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "fee_share".into(),
        knowledge
            .fee_share
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({
                        "list_type": e.list_type.code(),
                        "med_mdtrt_type": e.med_mdtrt_type.code(),
                        "max_pct": e.max_pct,
                        "min_total_amt": e.min_total_amt.to_string(),
                    }),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "distinct_limit".into(),
        knowledge
            .distinct_limit
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"list_type": e.list_type.code(), "med_mdtrt_type": e.med_mdtrt_type.code(), "max_cnt": e.max_cnt}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "price_limit".into(),
        knowledge
            .price_limit
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"med_list_codg": e.med_list_codg, "max_pric": e.max_pric.to_string()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    tables.insert(
        "med_type_sex_limit".into(),
        knowledge
            .med_type_sex_limit
            .iter()
            .map(|e| {
                tagged_entry(
                    json!({"med_type": e.med_type.to_string(), "gend": e.gend.code()}),
                    &e.scope,
                )
            })
            .collect(),
    );
    Value::Object(tables)
}
