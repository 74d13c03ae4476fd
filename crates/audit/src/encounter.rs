//! The executors of encounter attributes, companions and early refills
//! (entry-driven, from the line pass), and the checks of whole encounters and of the history
//! (rule-driven: each rule of these kinds walks the encounters once).

use yibao_core_types::decimal::render_scaled;
use yibao_core_types::{line_amount, round_half_up, Fen, ListType, MedType, NaiveDate};

use crate::model::{
    has_prefix, CostBasis, DrordBhvr, EligibilityStatus, Encounter, EncounterAttr, Evidence,
    Executor, FeeLine, Finding, FindingLine, Gend, MdtrtType, MoneyKind, PsnInsuStas, Rule, Scope,
    SupplyScene, Table, VolaItemType, Window,
};
use crate::run::{excess_share, message, At, IntervalHit, Run};

/// The Chinese name of a catalogue list, used in messages.
fn list_zh(list_type: ListType) -> &'static str {
    match list_type {
        ListType::Drug => "药品",
        ListType::ServiceItem => "医疗服务项目",
        ListType::Consumable => "医用耗材",
    }
}

/// Whole days from `earlier` to `later`.
fn days_between(earlier: NaiveDate, later: NaiveDate) -> i64 {
    (later - earlier).num_days()
}

/// What several encounter rules read of an encounter's lines, summed once per run.
struct Sums {
    /// Every line's amount.
    total: Fen,
    /// Amounts by `hilist_type` (drug, service, consumable).
    by_list: [Fen; 3],
    /// Whether every line carries `hilist_type` (else `by_list` is not measured).
    all_typed: bool,
    /// The earliest of the encounter's first day and its lines' dates.
    earliest: NaiveDate,
    /// The latest line date (the first day when there are no lines).
    latest: NaiveDate,
    /// Whether a line is 出院带药.
    has_discharge: bool,
}

fn list_idx(list_type: ListType) -> usize {
    match list_type {
        ListType::Drug => 0,
        ListType::ServiceItem => 1,
        ListType::Consumable => 2,
    }
}

fn sums(encounter: &Encounter) -> Sums {
    let mut sums = Sums {
        total: Fen::ZERO,
        by_list: [Fen::ZERO; 3],
        all_typed: true,
        earliest: encounter.begn_date,
        latest: encounter.begn_date,
        has_discharge: false,
    };
    for line in &encounter.lines {
        sums.total += line.amount;
        sums.earliest = sums.earliest.min(line.fee_date);
        sums.latest = sums.latest.max(line.fee_date);
        sums.has_discharge |= line.drord_bhvr == Some(DrordBhvr::Discharge);
        match line.hilist_type {
            Some(list_type) => sums.by_list[list_idx(list_type)] += line.amount,
            None => sums.all_typed = false,
        }
    }
    sums
}

impl<'a> Run<'a> {
    /// The catalogue name of a code the knowledge names, else the code itself.
    fn display_name(&self, code: &'a str) -> &'a str {
        match self.item_name(code) {
            "" => code,
            name => name,
        }
    }

    /// Whether `rule` enforces an entry of `scope` on `date` (its tag, its region, its dates).
    fn enforces(&self, rule: &Rule, scope: &Scope, date: NaiveDate) -> bool {
        rule.tag == scope.tag && rule.in_force_on(date) && scope.applies(date, self.input.admdvs)
    }

    /// `encounter_limit`: the line's encounter attribute is not among the allowed values. A
    /// missing attribute is silence.
    pub(crate) fn encounter_limit(&self, idx: usize, at: At, findings: &mut Vec<Finding>) {
        let entry = &self.knowledge.encounter_limit[idx];
        let line = self.line(at);
        if !self.flaggable(at.encounter_idx) || !self.entry_applies(&entry.scope, line) {
            return;
        }
        let encounter = &self.input.encounters[at.encounter_idx];
        let value = match entry.attr {
            EncounterAttr::MedMdtrtType => encounter.med_mdtrt_type.map(MdtrtType::code),
            EncounterAttr::MedType => encounter.med_type.as_ref().map(|t| t.as_str()),
            EncounterAttr::Insutype => encounter.insutype.as_ref().map(|t| t.as_str()),
            EncounterAttr::Dept => line.drord_dept_codg.as_deref(),
        };
        let Some(value) = value else {
            return;
        };
        if entry.allowed.iter().any(|a| has_prefix(value, a)) {
            return;
        }
        let show = |code: &str| match entry.attr {
            EncounterAttr::MedMdtrtType => {
                MdtrtType::parse(code).map_or_else(|| code.to_owned(), |t| t.zh().to_owned())
            }
            _ => code.to_owned(),
        };
        let list_type = self.list_type(&line.med_list_codg);
        for rule in self.rules_for(
            Table::EncounterLimit,
            line.fee_date,
            entry.scope.tag.as_deref(),
            |executor| {
                matches!(executor, Executor::EncounterLimit { list_types, attr }
                    if *attr == entry.attr && list_type.is_some_and(|t| list_types.contains(&t)))
            },
        ) {
            let allowed: Vec<String> = entry.allowed.iter().map(|a| show(a)).collect();
            let vola_cont = message(format_args!(
                "【{}】限{}为【{}】使用，本次{}为{}（{}）",
                self.item_name(&line.med_list_codg),
                entry.attr.zh(),
                allowed.join("、"),
                entry.attr.zh(),
                show(value),
                line.fee_date
            ));
            let evidence = Evidence {
                table: Some(Table::EncounterLimit),
                entry_idx: Some(idx),
                values: vec![
                    ("attr", entry.attr.code().to_owned()),
                    ("value", value.to_owned()),
                    ("allowed", entry.allowed.join("|")),
                ],
            };
            findings.push(self.single_line_finding(rule, at, vola_cont, evidence));
        }
    }

    /// `companion`: none of the item's companion codes in the same day (over every encounter
    /// given) or the same encounter.
    pub(crate) fn companion(&self, idx: usize, at: At, findings: &mut Vec<Finding>) {
        let entry = &self.knowledge.companion[idx];
        let line = self.line(at);
        if !self.flaggable(at.encounter_idx) || !self.entry_applies(&entry.scope, line) {
            return;
        }
        let is_companion = |other: &FeeLine| entry.companion_codes.contains(&other.med_list_codg);
        let present = match entry.within {
            Window::Day => self
                .input
                .encounters
                .iter()
                .flat_map(|e| &e.lines)
                .any(|other| other.fee_date == line.fee_date && is_companion(other)),
            Window::Visit => self.input.encounters[at.encounter_idx]
                .lines
                .iter()
                .any(is_companion),
        };
        if present {
            return;
        }
        let list_type = self.list_type(&line.med_list_codg);
        for rule in self.rules_for(
            Table::Companion,
            line.fee_date,
            entry.scope.tag.as_deref(),
            |executor| {
                matches!(executor, Executor::Companion { list_types }
                    if list_type.is_some_and(|t| list_types.contains(&t)))
            },
        ) {
            let companions: Vec<&str> = entry
                .companion_codes
                .iter()
                .map(|code| self.item_name(code))
                .collect();
            let vola_cont = message(format_args!(
                "【{}】须与【{}】在同一{}内收费，本{}内未见（{}）",
                self.item_name(&line.med_list_codg),
                companions.join("、"),
                entry.within.zh(),
                entry.within.zh(),
                line.fee_date
            ));
            let evidence = Evidence {
                table: Some(Table::Companion),
                entry_idx: Some(idx),
                values: vec![
                    ("companion_codes", entry.companion_codes.join("|")),
                    ("within", entry.within.code().to_owned()),
                ],
            };
            findings.push(self.single_line_finding(rule, at, vola_cont, evidence));
        }
    }

    /// `price_limit`: the line's amount above its count at the capped unit price; `X` flags the
    /// part above.
    pub(crate) fn price(&self, idx: usize, at: At, findings: &mut Vec<Finding>) {
        let entry = &self.knowledge.price_limit[idx];
        let line = self.line(at);
        // A refund line (negative count) is not priced here.
        if line.cnt.0 <= 0 || !self.flaggable(at.encounter_idx) {
            return;
        }
        // Price (1e-6 yuan) × count (1e-4) is in 1e-10 yuan, i.e. 1e-8 fen: an amount within
        // the exact product is within the rounded cap, without the division.
        let exact = i128::from(entry.max_pric.0) * i128::from(line.cnt.0);
        if i128::from(line.amount.0) * 100_000_000 <= exact {
            return;
        }
        let cap = line_amount(entry.max_pric, line.cnt);
        if line.amount <= cap || !self.entry_applies(&entry.scope, line) {
            return;
        }
        let list_type = self.list_type(&line.med_list_codg);
        for rule in self.rules_for(
            Table::PriceLimit,
            line.fee_date,
            entry.scope.tag.as_deref(),
            |executor| {
                matches!(executor, Executor::PriceLimit { list_types }
                    if list_type.is_some_and(|t| list_types.contains(&t)))
            },
        ) {
            // The unit price billed, to the fen (half up).
            let pric = Fen(
                round_half_up(i128::from(line.amount.0) * 10_000, i128::from(line.cnt.0)) as i64,
            );
            let vola_cont = message(format_args!(
                "【{}】结算单价{}元，高于限价{}元（{}）",
                self.item_name(&line.med_list_codg),
                pric,
                entry.max_pric,
                line.fee_date
            ));
            let vola_amt = match rule.money_kind {
                MoneyKind::Excess => line.amount - cap,
                _ => self.line_money(rule, at),
            };
            let evidence = Evidence {
                table: Some(Table::PriceLimit),
                entry_idx: Some(idx),
                values: vec![
                    ("pric", pric.to_string()),
                    ("max_pric", entry.max_pric.to_string()),
                ],
            };
            let details = vec![self.detail(at, VolaItemType::Violating, vola_amt)];
            findings.push(self.finding(rule, at, vola_amt, details, vola_cont, evidence));
        }
    }

    /// `early_refill`: walks each entry's charges in time order; a charge in a later encounter
    /// before `min_used_pct` of the previous charge's `prd_days` elapsed is flagged. A charge
    /// without `prd_days` checks nothing after it.
    pub(crate) fn refills(&self, hits: &mut [IntervalHit], findings: &mut Vec<Finding>) {
        hits.sort_unstable();
        for group in hits.chunk_by(|a, b| a.0 == b.0) {
            let idx = group[0].0;
            let entry = &self.knowledge.early_refill[idx];
            for pair in group.windows(2) {
                let (earlier, later) = (pair[0].2, pair[1].2);
                let Some(prd_days) = self.line(earlier).prd_days else {
                    continue;
                };
                if earlier.encounter_idx == later.encounter_idx
                    || !self.flaggable(later.encounter_idx)
                {
                    continue;
                }
                // Days that must elapse, rounded up: 80 % of 7 days is 6 days.
                let needed = (i64::from(prd_days) * i64::from(entry.min_used_pct) + 99) / 100;
                let elapsed = days_between(pair[0].1, pair[1].1);
                if elapsed >= needed {
                    continue;
                }
                let later_line = self.line(later);
                let list_type = self.list_type(&later_line.med_list_codg);
                for rule in self.rules_for(
                    Table::EarlyRefill,
                    later_line.fee_date,
                    entry.scope.tag.as_deref(),
                    |executor| {
                        matches!(executor, Executor::EarlyRefill)
                            && list_type == Some(ListType::Drug)
                    },
                ) {
                    let vola_cont = message(format_args!(
                        "【{}】{}已开{}天量，{}（间隔{}天，不足{}%）再次开具",
                        self.item_name(&later_line.med_list_codg),
                        pair[0].1,
                        prd_days,
                        pair[1].1,
                        elapsed,
                        entry.min_used_pct
                    ));
                    let evidence = Evidence {
                        table: Some(Table::EarlyRefill),
                        entry_idx: Some(idx),
                        values: vec![
                            ("prd_days", prd_days.to_string()),
                            ("days", elapsed.to_string()),
                            ("min_used_pct", entry.min_used_pct.to_string()),
                        ],
                    };
                    findings.push(self.pair_finding(rule, later, earlier, vola_cont, evidence));
                }
            }
        }
    }

    /// The rule-driven checks: each rule of these kinds in the phase walks the encounters.
    pub(crate) fn encounter_rules(&self, findings: &mut Vec<Finding>) {
        let sums: Vec<Sums> = self.input.encounters.iter().map(sums).collect();
        let rules = self
            .rule_driven
            .iter()
            .map(|&rule_idx| &self.rules[rule_idx]);
        for rule in rules.filter(|r| r.phases.contains(&self.phase)) {
            match &rule.executor {
                Executor::DaysSupply { scene } => self.days_supply(rule, *scene, &sums, findings),
                Executor::VisitFrequency { med_mdtrt_type } => {
                    self.visit_frequency(rule, *med_mdtrt_type, findings)
                }
                Executor::Readmission => self.readmission(rule, findings),
                Executor::ReferenceCost {
                    med_mdtrt_type,
                    basis,
                } => self.reference_cost(rule, *med_mdtrt_type, *basis, &sums, findings),
                Executor::FeeShare { list_type } => {
                    self.fee_share(rule, *list_type, &sums, findings)
                }
                Executor::DistinctLimit { list_type } => {
                    self.distinct_limit(rule, *list_type, findings)
                }
                Executor::Eligibility { status } => {
                    self.eligibility(rule, *status, &sums, findings)
                }
                Executor::AfterDeath => self.after_death(rule, findings),
                Executor::OutsideStay => self.outside_stay(rule, &sums, findings),
                Executor::StayOverlap => self.stay_overlap(rule, findings),
                Executor::VisitInStay => self.visit_in_stay(rule, findings),
                Executor::MedTypeSexLimit => self.med_type_sex(rule, findings),
                _ => {}
            }
        }
    }

    /// The encounters whose lines may be flagged, with their index.
    fn flaggable_encounters(&self) -> impl Iterator<Item = (usize, &'a Encounter)> + '_ {
        self.input
            .encounters
            .iter()
            .enumerate()
            .filter(|(idx, _)| self.flaggable(*idx))
    }

    /// A finding on `lines` of encounter `encounter_idx`, each violating with its money under the
    /// rule's money kind (`0` names no line).
    fn lines_finding(
        &self,
        rule: &Rule,
        encounter_idx: usize,
        line_idxs: &[usize],
        vola_cont: String,
        evidence: Evidence,
    ) -> Finding {
        let encounter = &self.input.encounters[encounter_idx];
        let details: Vec<FindingLine> = if rule.money_kind == MoneyKind::Zero {
            Vec::new()
        } else {
            line_idxs
                .iter()
                .map(|&line_idx| {
                    let at = At {
                        encounter_idx,
                        line_idx,
                    };
                    self.detail(
                        at,
                        VolaItemType::Violating,
                        encounter.lines[line_idx].amount,
                    )
                })
                .collect()
        };
        Finding {
            rule_id: rule.rule_id.clone(),
            rule_version: rule.version,
            sev_deg: rule.sev_deg,
            money_kind: rule.money_kind,
            encounter_idx,
            vola_cont,
            vola_amt: details.iter().map(|d| d.vola_amt).sum(),
            details,
            evidence,
        }
    }

    /// A finding on a whole encounter: every line for `L`/`E`, none for `0`.
    fn whole_encounter_finding(
        &self,
        rule: &Rule,
        encounter_idx: usize,
        vola_cont: String,
        evidence: Evidence,
    ) -> Finding {
        let all: Vec<usize> = (0..self.input.encounters[encounter_idx].lines.len()).collect();
        self.lines_finding(rule, encounter_idx, &all, vola_cont, evidence)
    }

    /// `days_supply`: a drug line's `prd_days` above the cap of its scene (出院带药 by
    /// `drord_bhvr`, else by the encounter's `med_type`).
    fn days_supply(
        &self,
        rule: &Rule,
        scene: SupplyScene,
        sums: &[Sums],
        findings: &mut Vec<Finding>,
    ) {
        if self.knowledge.days_supply.is_empty() {
            return;
        }
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            let visit_scene = encounter.med_type.and_then(|t| {
                if t == MedType::OUTPATIENT {
                    Some(SupplyScene::Outpatient)
                } else if t == MedType::EMERGENCY {
                    Some(SupplyScene::Emergency)
                } else if t == MedType::CHRONIC_OUTPATIENT {
                    Some(SupplyScene::Chronic)
                } else {
                    None
                }
            });
            // Only discharge lines can be of another scene than the encounter's.
            let any_line = match scene {
                SupplyScene::Discharge => sums[encounter_idx].has_discharge,
                _ => visit_scene == Some(scene),
            };
            if !any_line {
                continue;
            }
            for (line_idx, line) in encounter.lines.iter().enumerate() {
                let Some(days) = line.prd_days else {
                    continue;
                };
                let line_scene = if line.drord_bhvr == Some(DrordBhvr::Discharge) {
                    Some(SupplyScene::Discharge)
                } else {
                    visit_scene
                };
                if line_scene != Some(scene)
                    || line.hilist_type.is_some_and(|t| t != ListType::Drug)
                {
                    continue;
                }
                let Some((idx, entry)) =
                    self.knowledge
                        .days_supply
                        .iter()
                        .enumerate()
                        .find(|(_, e)| {
                            e.scene == scene && self.enforces(rule, &e.scope, line.fee_date)
                        })
                else {
                    continue;
                };
                if days <= entry.max_days {
                    continue;
                }
                let at = At {
                    encounter_idx,
                    line_idx,
                };
                let vola_amt = match rule.money_kind {
                    MoneyKind::Excess => excess_share(
                        line.amount,
                        i64::from(days - entry.max_days),
                        i64::from(days),
                    ),
                    _ => self.line_money(rule, at),
                };
                let vola_cont = message(format_args!(
                    "【{}】{}限开{}天量，本次{}天（{}）",
                    self.display_name(&line.med_list_codg),
                    scene.zh(),
                    entry.max_days,
                    days,
                    line.fee_date
                ));
                let evidence = Evidence {
                    table: Some(Table::DaysSupply),
                    entry_idx: Some(idx),
                    values: vec![
                        ("scene", scene.code().to_owned()),
                        ("max_days", entry.max_days.to_string()),
                        ("prd_days", days.to_string()),
                    ],
                };
                let details = vec![self.detail(at, VolaItemType::Violating, vola_amt)];
                findings.push(self.finding(rule, at, vola_amt, details, vola_cont, evidence));
            }
        }
    }

    /// `visit_frequency`: more than `max_cnt` encounters of the type in the `days` days ending on
    /// a flaggable encounter's first day (the history the caller sent counts).
    fn visit_frequency(&self, rule: &Rule, mdtrt_type: MdtrtType, findings: &mut Vec<Finding>) {
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            if encounter.med_mdtrt_type != Some(mdtrt_type) {
                continue;
            }
            let end = encounter.begn_date;
            for (idx, entry) in self.knowledge.visit_frequency.iter().enumerate() {
                if entry.med_mdtrt_type != mdtrt_type || !self.enforces(rule, &entry.scope, end) {
                    continue;
                }
                let start = end - chrono::TimeDelta::days(i64::from(entry.days) - 1);
                let dates: Vec<NaiveDate> = self
                    .input
                    .encounters
                    .iter()
                    .filter(|e| {
                        e.med_mdtrt_type == Some(mdtrt_type) && (start..=end).contains(&e.begn_date)
                    })
                    .map(|e| e.begn_date)
                    .collect();
                let count = dates.len();
                if count <= entry.max_cnt as usize {
                    continue;
                }
                let first = dates.iter().min().copied().unwrap_or(end);
                let vola_cont = message(format_args!(
                    "患者{}天内（{}～{}）{}就诊{}次，超过{}次",
                    entry.days,
                    first,
                    end,
                    mdtrt_type.zh(),
                    count,
                    entry.max_cnt
                ));
                let evidence = Evidence {
                    table: Some(Table::VisitFrequency),
                    entry_idx: Some(idx),
                    values: vec![
                        ("days", entry.days.to_string()),
                        ("max_cnt", entry.max_cnt.to_string()),
                        ("count", count.to_string()),
                    ],
                };
                findings.push(self.whole_encounter_finding(
                    rule,
                    encounter_idx,
                    vola_cont,
                    evidence,
                ));
            }
        }
    }

    /// The inpatient encounters other than `encounter_idx`.
    fn other_stays(&self, encounter_idx: usize) -> impl Iterator<Item = &'a Encounter> + '_ {
        self.input
            .encounters
            .iter()
            .enumerate()
            .filter(move |(idx, e)| {
                *idx != encounter_idx && e.med_mdtrt_type == Some(MdtrtType::Inpatient)
            })
            .map(|(_, e)| e)
    }

    /// `readmission` (分解住院): an admission within `max_days` of an earlier discharge from the
    /// same institution (when both are known) whose main diagnosis has the same three-character
    /// category.
    fn readmission(&self, rule: &Rule, findings: &mut Vec<Finding>) {
        for (encounter_idx, later) in self.flaggable_encounters() {
            let Some(dx) = later.main_dise_codg.as_deref() else {
                continue;
            };
            if later.med_mdtrt_type != Some(MdtrtType::Inpatient) {
                continue;
            }
            let Some((idx, entry)) = self
                .knowledge
                .readmission
                .iter()
                .enumerate()
                .find(|(_, e)| self.enforces(rule, &e.scope, later.begn_date))
            else {
                continue;
            };
            if entry
                .excluded_dise_codg_prefixes
                .iter()
                .any(|p| has_prefix(dx, p))
            {
                continue;
            }
            let category = dx.get(..3).unwrap_or(dx);
            let earlier = self
                .other_stays(encounter_idx)
                .filter_map(|e| {
                    let dscg = e.dscg_date?;
                    let same = e.main_dise_codg.as_deref()?.get(..3) == Some(category);
                    let same_place = match (&e.medins_id, &later.medins_id) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    };
                    (same && same_place && dscg <= later.begn_date).then_some(dscg)
                })
                .max();
            let Some(dscg) = earlier else {
                continue;
            };
            let days = days_between(dscg, later.begn_date);
            if days > i64::from(entry.max_days) {
                continue;
            }
            let vola_cont = message(format_args!(
                "患者{}出院，{}天后（{}）以相同诊断【{}】再次入院",
                dscg, days, later.begn_date, dx
            ));
            let evidence = Evidence {
                table: Some(Table::Readmission),
                entry_idx: Some(idx),
                values: vec![
                    ("days", days.to_string()),
                    ("max_days", entry.max_days.to_string()),
                    ("dise_codg", dx.to_owned()),
                ],
            };
            findings.push(self.whole_encounter_finding(rule, encounter_idx, vola_cont, evidence));
        }
    }

    /// `reference_cost`: the encounter's total (or total per stay day) above `max_multiple` times
    /// the reference cost of its main diagnosis (the longest matching prefix).
    fn reference_cost(
        &self,
        rule: &Rule,
        mdtrt_type: MdtrtType,
        basis: CostBasis,
        sums: &[Sums],
        findings: &mut Vec<Finding>,
    ) {
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            if encounter.med_mdtrt_type != Some(mdtrt_type) {
                continue;
            }
            let Some(dx) = encounter.main_dise_codg.as_deref() else {
                continue;
            };
            let days = match basis {
                CostBasis::Visit => 1,
                CostBasis::Day => match encounter.dscg_date {
                    Some(dscg) => days_between(encounter.begn_date, dscg).max(1),
                    None => continue,
                },
            };
            let Some((idx, entry)) = self
                .knowledge
                .reference_cost
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.med_mdtrt_type == mdtrt_type
                        && has_prefix(dx, &e.dise_codg_prefix)
                        && self.enforces(rule, &e.scope, encounter.begn_date)
                })
                .max_by_key(|(_, e)| e.dise_codg_prefix.len())
            else {
                continue;
            };
            let total = sums[encounter_idx].total;
            let reference = i128::from(entry.ref_amt.0) * i128::from(days);
            if i128::from(total.0) * 100 <= reference * i128::from(entry.max_multiple_pct) {
                continue;
            }
            let ratio = i128::from(total.0) * 100 / reference;
            let measured = match basis {
                CostBasis::Visit => format!("本次{}费用{}元", mdtrt_type.zh(), total),
                CostBasis::Day => format!(
                    "本次住院{}天，日均费用{}元",
                    days,
                    Fen((i128::from(total.0) / i128::from(days)) as i64)
                ),
            };
            let vola_cont = message(format_args!(
                "{}，为诊断【{}】参考费用{}元的{}倍，超过{}倍",
                measured,
                dx,
                entry.ref_amt,
                render_scaled(ratio, 2),
                render_scaled(i128::from(entry.max_multiple_pct), 2)
            ));
            let evidence = Evidence {
                table: Some(Table::ReferenceCost),
                entry_idx: Some(idx),
                values: vec![
                    ("basis", basis.code().to_owned()),
                    ("total", total.to_string()),
                    ("ref_amt", entry.ref_amt.to_string()),
                    ("days", days.to_string()),
                ],
            };
            findings.push(self.whole_encounter_finding(rule, encounter_idx, vola_cont, evidence));
        }
    }

    /// `fee_share`: one list's share of the encounter's total above `max_pct`. Measured only
    /// when every line carries `hilist_type`.
    fn fee_share(
        &self,
        rule: &Rule,
        list_type: ListType,
        sums: &[Sums],
        findings: &mut Vec<Finding>,
    ) {
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            let Some(mdtrt_type) = encounter.med_mdtrt_type else {
                continue;
            };
            if !sums[encounter_idx].all_typed {
                continue;
            }
            let by_list = sums[encounter_idx].by_list;
            let Some((idx, entry)) = self.knowledge.fee_share.iter().enumerate().find(|(_, e)| {
                e.list_type == list_type
                    && e.med_mdtrt_type == mdtrt_type
                    && self.enforces(rule, &e.scope, encounter.begn_date)
            }) else {
                continue;
            };
            let total = sums[encounter_idx].total;
            let part = by_list[list_idx(list_type)];
            if total.0 <= 0
                || total < entry.min_total_amt
                || i128::from(part.0) * 100 <= i128::from(total.0) * i128::from(entry.max_pct)
            {
                continue;
            }
            let pct = i128::from(part.0) * 10_000 / i128::from(total.0);
            let vola_cont = message(format_args!(
                "本次{}{}费用{}元，占总费用{}元的{}%，超过{}%",
                mdtrt_type.zh(),
                list_zh(list_type),
                part,
                total,
                render_scaled(pct, 2),
                entry.max_pct
            ));
            let evidence = Evidence {
                table: Some(Table::FeeShare),
                entry_idx: Some(idx),
                values: vec![
                    ("part", part.to_string()),
                    ("total", total.to_string()),
                    ("max_pct", entry.max_pct.to_string()),
                ],
            };
            findings.push(self.whole_encounter_finding(rule, encounter_idx, vola_cont, evidence));
        }
    }

    /// `distinct_limit`: more distinct codes of one list in an encounter than `max_cnt`. Lines
    /// without `hilist_type` are not counted.
    fn distinct_limit(&self, rule: &Rule, list_type: ListType, findings: &mut Vec<Finding>) {
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            let Some(mdtrt_type) = encounter.med_mdtrt_type else {
                continue;
            };
            let Some((idx, entry)) =
                self.knowledge
                    .distinct_limit
                    .iter()
                    .enumerate()
                    .find(|(_, e)| {
                        e.list_type == list_type
                            && e.med_mdtrt_type == mdtrt_type
                            && self.enforces(rule, &e.scope, encounter.begn_date)
                    })
            else {
                continue;
            };
            let mut codes: Vec<&str> = encounter
                .lines
                .iter()
                .filter(|l| l.hilist_type == Some(list_type))
                .map(|l| l.med_list_codg.as_str())
                .collect();
            codes.sort_unstable();
            codes.dedup();
            if codes.len() <= entry.max_cnt as usize {
                continue;
            }
            let vola_cont = message(format_args!(
                "本次{}开具{}{}种，超过{}种",
                mdtrt_type.zh(),
                list_zh(list_type),
                codes.len(),
                entry.max_cnt
            ));
            let evidence = Evidence {
                table: Some(Table::DistinctLimit),
                entry_idx: Some(idx),
                values: vec![
                    ("count", codes.len().to_string()),
                    ("max_cnt", entry.max_cnt.to_string()),
                ],
            };
            findings.push(self.whole_encounter_finding(rule, encounter_idx, vola_cont, evidence));
        }
    }

    /// The person's eligibility on `date` under `encounter`'s insurance type: `None` when a
    /// record covers the date or no record is known.
    fn ineligible(&self, encounter: &Encounter, date: NaiveDate) -> Option<EligibilityStatus> {
        let insuinfo = &self.input.person.insuinfo;
        let mut records = insuinfo
            .iter()
            .filter(|r| encounter.insutype.is_none_or(|t| t == r.insutype));
        if insuinfo.is_empty() || records.clone().any(|r| r.covers(date)) {
            return None;
        }
        let suspended = records.any(|r| {
            r.psn_insu_stas == PsnInsuStas::Suspended
                && r.psn_insu_date <= date
                && r.paus_insu_date.is_some_and(|paus| paus <= date)
        });
        Some(if suspended {
            EligibilityStatus::Suspended
        } else {
            EligibilityStatus::Uninsured
        })
    }

    /// `eligibility`: the lines dated when the person was not insured (or suspended).
    fn eligibility(
        &self,
        rule: &Rule,
        status: EligibilityStatus,
        sums: &[Sums],
        findings: &mut Vec<Finding>,
    ) {
        if self.input.person.insuinfo.is_empty() {
            return;
        }
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            // The usual case: an open normal record from before the encounter covers every line.
            let earliest = sums[encounter_idx].earliest;
            let open = self.input.person.insuinfo.iter().any(|r| {
                encounter.insutype.is_none_or(|t| t == r.insutype)
                    && r.psn_insu_stas == PsnInsuStas::Normal
                    && r.psn_insu_date <= earliest
            });
            if open {
                continue;
            }
            let hit = |date: NaiveDate| {
                rule.in_force_on(date) && self.ineligible(encounter, date) == Some(status)
            };
            let line_idxs: Vec<usize> = (0..encounter.lines.len())
                .filter(|&i| hit(encounter.lines[i].fee_date))
                .collect();
            let first_date = match line_idxs.first() {
                Some(&i) => encounter.lines[i].fee_date,
                None if encounter.lines.is_empty() && hit(encounter.begn_date) => {
                    encounter.begn_date
                }
                None => continue,
            };
            let state = match status {
                EligibilityStatus::Uninsured => "未参保或已终止参保",
                EligibilityStatus::Suspended => "参保待遇暂停",
            };
            let insutype = encounter
                .insutype
                .map_or_else(|| "全部险种".to_owned(), |t| format!("险种{t}"));
            let vola_cont = message(format_args!(
                "患者{}（{}）处于{}状态，费用{}条不应由基金支付",
                first_date,
                insutype,
                state,
                line_idxs.len()
            ));
            let evidence = Evidence {
                table: None,
                entry_idx: None,
                values: vec![
                    ("status", status.code().to_owned()),
                    ("date", first_date.to_string()),
                ],
            };
            findings.push(self.lines_finding(rule, encounter_idx, &line_idxs, vola_cont, evidence));
        }
    }

    /// `after_death`: lines (or an encounter without lines) dated after `death_date`.
    fn after_death(&self, rule: &Rule, findings: &mut Vec<Finding>) {
        let Some(death) = self.input.person.death_date else {
            return;
        };
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            let line_idxs: Vec<usize> = (0..encounter.lines.len())
                .filter(|&i| {
                    let date = encounter.lines[i].fee_date;
                    date > death && rule.in_force_on(date)
                })
                .collect();
            let first = match line_idxs.first() {
                Some(&i) => encounter.lines[i].fee_date,
                None if encounter.lines.is_empty()
                    && encounter.begn_date > death
                    && rule.in_force_on(encounter.begn_date) =>
                {
                    encounter.begn_date
                }
                None => continue,
            };
            let vola_cont = message(format_args!(
                "患者已于{}死亡，{}仍发生就诊费用{}条",
                death,
                first,
                line_idxs.len()
            ));
            let evidence = Evidence {
                table: None,
                entry_idx: None,
                values: vec![
                    ("death_date", death.to_string()),
                    ("fee_date", first.to_string()),
                ],
            };
            findings.push(self.lines_finding(rule, encounter_idx, &line_idxs, vola_cont, evidence));
        }
    }

    /// `outside_stay`: an inpatient line dated before admission or after discharge (出院带药
    /// excepted; after discharge only when `dscg_date` is known).
    fn outside_stay(&self, rule: &Rule, sums: &[Sums], findings: &mut Vec<Finding>) {
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            let sums = &sums[encounter_idx];
            let inside = encounter.begn_date <= sums.earliest
                && encounter.dscg_date.is_none_or(|dscg| sums.latest <= dscg);
            if encounter.med_mdtrt_type != Some(MdtrtType::Inpatient) || inside {
                continue;
            }
            for (line_idx, line) in encounter.lines.iter().enumerate() {
                let before = line.fee_date < encounter.begn_date;
                let after = encounter.dscg_date.is_some_and(|dscg| line.fee_date > dscg)
                    && line.drord_bhvr != Some(DrordBhvr::Discharge);
                if !(before || after) || !rule.in_force_on(line.fee_date) {
                    continue;
                }
                let dscg = encounter
                    .dscg_date
                    .map_or_else(|| "今".to_owned(), |d| d.to_string());
                let vola_cont = message(format_args!(
                    "【{}】计费日期{}不在住院期间{}～{}内",
                    self.display_name(&line.med_list_codg),
                    line.fee_date,
                    encounter.begn_date,
                    dscg
                ));
                let evidence = Evidence {
                    table: None,
                    entry_idx: None,
                    values: vec![
                        ("fee_date", line.fee_date.to_string()),
                        ("adm_date", encounter.begn_date.to_string()),
                        ("dscg_date", dscg),
                    ],
                };
                let at = At {
                    encounter_idx,
                    line_idx,
                };
                findings.push(self.single_line_finding(rule, at, vola_cont, evidence));
            }
        }
    }

    /// `stay_overlap`: an admission before an earlier-admitted stay's discharge.
    fn stay_overlap(&self, rule: &Rule, findings: &mut Vec<Finding>) {
        for (encounter_idx, later) in self.flaggable_encounters() {
            if later.med_mdtrt_type != Some(MdtrtType::Inpatient)
                || !rule.in_force_on(later.begn_date)
            {
                continue;
            }
            let overlapped = self.input.encounters.iter().enumerate().find(|(idx, e)| {
                *idx != encounter_idx
                    && e.med_mdtrt_type == Some(MdtrtType::Inpatient)
                    && (e.begn_date, *idx) < (later.begn_date, encounter_idx)
                    && e.dscg_date.is_some_and(|dscg| later.begn_date < dscg)
            });
            let Some((_, earlier)) = overlapped else {
                continue;
            };
            let dscg = earlier.dscg_date.unwrap_or(later.begn_date);
            let vola_cont = message(format_args!(
                "患者{}入院时，前次住院（{}～{}）尚未出院，住院时间重叠",
                later.begn_date, earlier.begn_date, dscg
            ));
            let evidence = Evidence {
                table: None,
                entry_idx: None,
                values: vec![
                    ("adm_date", later.begn_date.to_string()),
                    ("other_mdtrt_id", earlier.mdtrt_id.clone()),
                ],
            };
            findings.push(self.whole_encounter_finding(rule, encounter_idx, vola_cont, evidence));
        }
    }

    /// `visit_in_stay`: an outpatient or pharmacy encounter dated strictly inside a stay.
    fn visit_in_stay(&self, rule: &Rule, findings: &mut Vec<Finding>) {
        for (encounter_idx, visit) in self.flaggable_encounters() {
            let Some(mdtrt_type) = visit.med_mdtrt_type else {
                continue;
            };
            if !matches!(mdtrt_type, MdtrtType::Outpatient | MdtrtType::Pharmacy)
                || !rule.in_force_on(visit.begn_date)
            {
                continue;
            }
            let stay = self.other_stays(encounter_idx).find(|s| {
                s.begn_date < visit.begn_date && s.dscg_date.is_some_and(|d| visit.begn_date < d)
            });
            let Some(stay) = stay else {
                continue;
            };
            let vola_cont = message(format_args!(
                "{}就诊日期{}在住院期间{}～{}内",
                mdtrt_type.zh(),
                visit.begn_date,
                stay.begn_date,
                stay.dscg_date.unwrap_or(visit.begn_date)
            ));
            let evidence = Evidence {
                table: None,
                entry_idx: None,
                values: vec![
                    ("begn_date", visit.begn_date.to_string()),
                    ("stay_mdtrt_id", stay.mdtrt_id.clone()),
                ],
            };
            findings.push(self.whole_encounter_finding(rule, encounter_idx, vola_cont, evidence));
        }
    }

    /// `med_type_sex_limit`: an encounter of a 医疗类别 limited to the other sex (a lead: the
    /// sex or the 医疗类别 is wrong). Sex 9 and a missing `med_type` are silence.
    fn med_type_sex(&self, rule: &Rule, findings: &mut Vec<Finding>) {
        let gend = self.input.person.gend;
        if gend == Gend::Unknown {
            return;
        }
        for (encounter_idx, encounter) in self.flaggable_encounters() {
            let Some(med_type) = encounter.med_type else {
                continue;
            };
            let found = self
                .knowledge
                .med_type_sex_limit
                .iter()
                .enumerate()
                .find(|(_, e)| {
                    e.med_type == med_type
                        && e.gend != gend
                        && self.enforces(rule, &e.scope, encounter.begn_date)
                });
            let Some((idx, entry)) = found else {
                continue;
            };
            let vola_cont = message(format_args!(
                "医疗类别【{}】限{}，患者性别为{}（{}）",
                med_type,
                entry.gend.zh(),
                gend.zh(),
                encounter.begn_date
            ));
            let evidence = Evidence {
                table: Some(Table::MedTypeSexLimit),
                entry_idx: Some(idx),
                values: vec![
                    ("med_type", med_type.to_string()),
                    ("gend", gend.code().to_owned()),
                ],
            };
            findings.push(self.whole_encounter_finding(rule, encounter_idx, vola_cont, evidence));
        }
    }
}
