//! The executors: one pass over the input's lines, each line looked up once in the knowledge
//! index, then the rules of each table applied to the entries found.

use chrono::Datelike;
use yibao_core_types::{round_half_up, Fen, ListType, NaiveDate, Quantity};

use crate::model::{
    has_prefix, AgeBound, AuditInput, EntryRef, Evidence, Executor, FeeLine, Finding, FindingLine,
    Gend, Knowledge, MoneyKind, Phase, Rule, RuleSet, Scope, Table, VolaItemType, Window,
};

/// Completed years between `brdy` and `date` (the birthday counts on its day).
pub fn age_years(brdy: NaiveDate, date: NaiveDate) -> i64 {
    let mut years = i64::from(date.year()) - i64::from(brdy.year());
    if (date.month(), date.day()) < (brdy.month(), brdy.day()) {
        years -= 1;
    }
    years
}

/// A line's place in the input: encounter index, line index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct At {
    pub(crate) encounter_idx: usize,
    pub(crate) line_idx: usize,
}

/// Runs every rule of `rules` that applies in `phase` over `input`.
pub fn audit(
    input: &AuditInput,
    rules: &RuleSet,
    knowledge: &Knowledge,
    phase: Phase,
) -> Vec<Finding> {
    let run = Run {
        input,
        knowledge,
        rules: &rules.rules,
        by_table: &rules.by_table,
        rule_driven: &rules.rule_driven,
        phase,
        current_encounter_idx: input.current_mdtrt_id.as_deref().map(|id| {
            input
                .encounters
                .iter()
                .position(|e| e.mdtrt_id == id)
                .unwrap_or(usize::MAX)
        }),
    };
    let mut findings = Vec::new();
    // Sized once for a typical bill: growing by doubling costs several allocations, and a
    // block above 1 KiB costs the allocator a consolidation pass.
    let n_lines: usize = input.encounters.iter().map(|e| e.lines.len()).sum();
    let mut quantity_hits: Vec<QuantityHit> = Vec::with_capacity(n_lines.min(16));
    let mut pair_hits: Vec<PairHit> = Vec::with_capacity(n_lines.min(16));
    let mut interval_hits: Vec<IntervalHit> = Vec::new();
    let mut refill_hits: Vec<IntervalHit> = Vec::new();
    for (encounter_idx, encounter) in input.encounters.iter().enumerate() {
        for (line_idx, line) in encounter.lines.iter().enumerate() {
            let Some(refs) = knowledge.by_code.get(line.med_list_codg.as_str()) else {
                continue;
            };
            let at = At {
                encounter_idx,
                line_idx,
            };
            for entry_ref in refs {
                match *entry_ref {
                    EntryRef::Sex(idx) => run.sex(idx, at, &mut findings),
                    EntryRef::Age(idx) => run.age(idx, at, &mut findings),
                    EntryRef::Level(idx) => run.level(idx, at, &mut findings),
                    EntryRef::DxRequired(idx) => {
                        run.dx_item(Table::DxRequired, idx, at, &mut findings)
                    }
                    EntryRef::DxExcluded(idx) => {
                        run.dx_item(Table::DxExcluded, idx, at, &mut findings)
                    }
                    EntryRef::EncounterLimit(idx) => run.encounter_limit(idx, at, &mut findings),
                    EntryRef::Companion(idx) => run.companion(idx, at, &mut findings),
                    EntryRef::Price(idx) => run.price(idx, at, &mut findings),
                    EntryRef::Refill(idx) => {
                        // A refill is a charge in a later encounter: one encounter has none.
                        if input.encounters.len() > 1
                            && run.entry_applies(&knowledge.early_refill[idx].scope, line)
                        {
                            refill_hits.push((idx, line.fee_date, at));
                        }
                    }
                    EntryRef::Interval(idx) => {
                        if run.entry_applies(&knowledge.min_interval[idx].scope, line) {
                            interval_hits.push((idx, line.fee_date, at));
                        }
                    }
                    EntryRef::Quantity(idx) => {
                        if run.entry_applies(&knowledge.quantity_limit[idx].scope, line) {
                            let per = knowledge.quantity_limit[idx].per;
                            quantity_hits.push((idx, window_key(per, line, at), line.fee_date, at));
                        }
                    }
                    EntryRef::PairA(idx) | EntryRef::PairB(idx) => {
                        if run.entry_applies(&knowledge.exclusive_pair[idx].scope, line) {
                            let within = knowledge.exclusive_pair[idx].within;
                            let side_a = matches!(entry_ref, EntryRef::PairA(_));
                            pair_hits.push((
                                idx,
                                window_key(within, line, at),
                                side_a,
                                line.fee_date,
                                at,
                            ));
                        }
                    }
                }
            }
        }
    }
    if !quantity_hits.is_empty() {
        run.quantities(&mut quantity_hits, &mut findings);
    }
    if !pair_hits.is_empty() {
        run.pairs(&mut pair_hits, &mut findings);
    }
    if !interval_hits.is_empty() {
        run.intervals(&mut interval_hits, &mut findings);
    }
    if !refill_hits.is_empty() {
        run.refills(&mut refill_hits, &mut findings);
    }
    run.diagnoses(&mut findings);
    run.encounter_rules(&mut findings);
    for finding in &findings {
        // A finding's money is exactly its lines' money, and only violating lines carry any.
        let lines_fen: Fen = finding.details.iter().map(|d| d.vola_amt).sum();
        assert_eq!(
            finding.vola_amt, lines_fen,
            "{}: money ≠ its lines",
            finding.rule_id
        );
        assert!(
            finding
                .details
                .iter()
                .all(|d| d.vola_item_type == VolaItemType::Violating || d.vola_amt == Fen::ZERO),
            "{}: an involved line carries money",
            finding.rule_id
        );
    }
    findings
}

/// The window a line falls in: its date, or its encounter.
fn window_key(window: Window, line: &FeeLine, at: At) -> (NaiveDate, usize) {
    match window {
        Window::Day => (line.fee_date, usize::MAX),
        Window::Visit => (NaiveDate::MIN, at.encounter_idx),
    }
}

/// A line under a quantity entry: entry, window, then time order (date, place).
type QuantityHit = (usize, (NaiveDate, usize), NaiveDate, At);

/// A line under a min-interval entry: entry, then time order (date, place).
pub(crate) type IntervalHit = (usize, NaiveDate, At);

/// A line under a pair entry: entry, window, side a?, then time order (date, place).
type PairHit = (usize, (NaiveDate, usize), bool, NaiveDate, At);

pub(crate) struct Run<'a> {
    pub(crate) input: &'a AuditInput,
    pub(crate) knowledge: &'a Knowledge,
    pub(crate) rules: &'a [Rule],
    /// The rules' positions by table.
    pub(crate) by_table: &'a [Vec<usize>],
    /// The positions of the rule-driven rules.
    pub(crate) rule_driven: &'a [usize],
    pub(crate) phase: Phase,
    /// The encounter whose lines may be flagged (`usize::MAX` when the current `mdtrt_id` is
    /// not among the encounters); `None` flags every encounter.
    pub(crate) current_encounter_idx: Option<usize>,
}

impl<'a> Run<'a> {
    pub(crate) fn line(&self, at: At) -> &'a FeeLine {
        &self.input.encounters[at.encounter_idx].lines[at.line_idx]
    }

    /// Only the current encounter's lines are flagged; the others are history.
    pub(crate) fn flaggable(&self, encounter_idx: usize) -> bool {
        self.current_encounter_idx
            .is_none_or(|current| current == encounter_idx)
    }

    pub(crate) fn entry_applies(&self, scope: &Scope, line: &FeeLine) -> bool {
        scope.applies(line.fee_date, self.input.admdvs)
    }

    pub(crate) fn item_name(&self, code: &str) -> &'a str {
        self.knowledge
            .items
            .get(code)
            .map_or("", |item| item.name.as_str())
    }

    pub(crate) fn list_type(&self, code: &str) -> Option<ListType> {
        self.knowledge.items.get(code).map(|item| item.list_type)
    }

    /// The rules of `table` in force on `date` enforcing entries tagged `tag` that `select`
    /// accepts.
    pub(crate) fn rules_for<'s, F: Fn(&Executor) -> bool + 's>(
        &'s self,
        table: Table,
        date: NaiveDate,
        tag: Option<&'s str>,
        select: F,
    ) -> impl Iterator<Item = &'a Rule> + 's {
        let rules = self.rules;
        self.by_table[table as usize]
            .iter()
            .map(move |&rule_idx| &rules[rule_idx])
            .filter(move |rule| {
                rule.tag.as_deref() == tag
                    && rule.phases.contains(&self.phase)
                    && rule.in_force_on(date)
                    && select(&rule.executor)
            })
    }

    pub(crate) fn detail(
        &self,
        at: At,
        vola_item_type: VolaItemType,
        vola_amt: Fen,
    ) -> FindingLine {
        FindingLine {
            encounter_idx: at.encounter_idx,
            line_idx: at.line_idx,
            vola_item_type,
            vola_amt,
        }
    }

    /// The money a single-line finding flags on its line.
    pub(crate) fn line_money(&self, rule: &Rule, at: At) -> Fen {
        match rule.money_kind {
            MoneyKind::Line | MoneyKind::Excess | MoneyKind::ProRated => self.line(at).amount,
            MoneyKind::Encounter => self.input.encounters[at.encounter_idx]
                .lines
                .iter()
                .map(|line| line.amount)
                .sum(),
            MoneyKind::Zero => Fen::ZERO,
        }
    }

    /// A finding of `rule` on the encounter of `at`, flagging `vola_amt` over `details`.
    pub(crate) fn finding(
        &self,
        rule: &Rule,
        at: At,
        vola_amt: Fen,
        details: Vec<FindingLine>,
        vola_cont: String,
        evidence: Evidence,
    ) -> Finding {
        Finding {
            rule_id: rule.rule_id.clone(),
            rule_version: rule.version,
            sev_deg: rule.sev_deg,
            money_kind: rule.money_kind,
            encounter_idx: at.encounter_idx,
            vola_cont,
            vola_amt,
            details,
            evidence,
        }
    }

    pub(crate) fn single_line_finding(
        &self,
        rule: &Rule,
        at: At,
        vola_cont: String,
        evidence: Evidence,
    ) -> Finding {
        let vola_amt = self.line_money(rule, at);
        let details = vec![self.detail(at, VolaItemType::Violating, vola_amt)];
        self.finding(rule, at, vola_amt, details, vola_cont, evidence)
    }

    /// A finding on two lines: `later` violates (and carries the money), `other` is involved.
    pub(crate) fn pair_finding(
        &self,
        rule: &Rule,
        later: At,
        other: At,
        vola_cont: String,
        evidence: Evidence,
    ) -> Finding {
        let vola_amt = self.line_money(rule, later);
        let details = vec![
            self.detail(later, VolaItemType::Violating, vola_amt),
            self.detail(other, VolaItemType::Involved, Fen::ZERO),
        ];
        self.finding(rule, later, vola_amt, details, vola_cont, evidence)
    }

    fn sex(&self, idx: usize, at: At, findings: &mut Vec<Finding>) {
        let entry = &self.knowledge.sex_limit[idx];
        let line = self.line(at);
        let gend = self.input.person.gend;
        if gend == Gend::Unknown || gend == entry.gend || !self.flaggable(at.encounter_idx) {
            return;
        }
        if !self.entry_applies(&entry.scope, line) {
            return;
        }
        let list_type = self.list_type(&line.med_list_codg);
        for rule in self.rules_for(Table::SexLimit, line.fee_date, entry.scope.tag.as_deref(), |executor| {
            matches!(executor, Executor::SexLimit { list_types } if list_type.is_some_and(|t| list_types.contains(&t)))
        }) {
            let vola_cont = message(format_args!(
                "【{}】限{}使用，患者性别为{}（{}）",
                self.item_name(&line.med_list_codg),
                entry.gend.zh(),
                gend.zh(),
                line.fee_date
            ));
            let evidence = Evidence {
                table: Some(Table::SexLimit),
                entry_idx: Some(idx),
                values: vec![
                    ("gend", gend.code().to_owned()),
                    ("allowed_gend", entry.gend.code().to_owned()),
                ],
            };
            findings.push(self.single_line_finding(rule, at, vola_cont, evidence));
        }
    }

    fn age(&self, idx: usize, at: At, findings: &mut Vec<Finding>) {
        let entry = &self.knowledge.age_limit[idx];
        let line = self.line(at);
        if !self.flaggable(at.encounter_idx) || !self.entry_applies(&entry.scope, line) {
            return;
        }
        let age = age_years(self.input.person.brdy, line.fee_date);
        let below = entry.min_age.is_some_and(|min| age < i64::from(min));
        let above = entry.max_age.is_some_and(|max| age > i64::from(max));
        if !below && !above {
            return;
        }
        let list_type = self.list_type(&line.med_list_codg);
        for rule in self.rules_for(
            Table::AgeLimit,
            line.fee_date,
            entry.scope.tag.as_deref(),
            |executor| match executor {
                Executor::AgeLimit { list_types, bound } => {
                    list_type.is_some_and(|t| list_types.contains(&t))
                        && match bound {
                            AgeBound::Lower => below,
                            AgeBound::Upper => above,
                            AgeBound::Both => true,
                        }
                }
                _ => false,
            },
        ) {
            let vola_cont = message(format_args!(
                "【{}】限{}使用，患者年龄为{}岁（{}）",
                self.item_name(&line.med_list_codg),
                age_range_zh(entry.min_age, entry.max_age),
                age,
                line.fee_date
            ));
            let evidence = Evidence {
                table: Some(Table::AgeLimit),
                entry_idx: Some(idx),
                values: vec![
                    ("age", age.to_string()),
                    ("min_age", option_text(entry.min_age)),
                    ("max_age", option_text(entry.max_age)),
                ],
            };
            findings.push(self.single_line_finding(rule, at, vola_cont, evidence));
        }
    }

    fn level(&self, idx: usize, at: At, findings: &mut Vec<Finding>) {
        let entry = &self.knowledge.level_limit[idx];
        let line = self.line(at);
        let hosp_lv = self.input.encounters[at.encounter_idx].hosp_lv;
        if hosp_lv >= entry.min_hosp_lv
            || !self.flaggable(at.encounter_idx)
            || !self.entry_applies(&entry.scope, line)
        {
            return;
        }
        let list_type = self.list_type(&line.med_list_codg);
        for rule in self.rules_for(Table::LevelLimit, line.fee_date, entry.scope.tag.as_deref(), |executor| {
            matches!(executor, Executor::LevelLimit { list_types } if list_type.is_some_and(|t| list_types.contains(&t)))
        }) {
            let vola_cont = message(format_args!(
                "【{}】限{}及以上医疗机构使用，本次医疗机构级别为{}",
                self.item_name(&line.med_list_codg),
                entry.min_hosp_lv.zh(),
                hosp_lv.zh()
            ));
            let evidence = Evidence {
                table: Some(Table::LevelLimit),
                entry_idx: Some(idx),
                values: vec![
                    ("hosp_lv", hosp_lv.get().to_string()),
                    ("min_hosp_lv", entry.min_hosp_lv.get().to_string()),
                ],
            };
            findings.push(self.single_line_finding(rule, at, vola_cont, evidence));
        }
    }

    /// `dx_required` (hit when no diagnosis of the line's encounter matches) and `dx_excluded`
    /// (hit when one does).
    fn dx_item(&self, table: Table, idx: usize, at: At, findings: &mut Vec<Finding>) {
        let required = table == Table::DxRequired;
        let entry = if required {
            &self.knowledge.dx_required[idx]
        } else {
            &self.knowledge.dx_excluded[idx]
        };
        let line = self.line(at);
        if !self.flaggable(at.encounter_idx) || !self.entry_applies(&entry.scope, line) {
            return;
        }
        let diagnoses = &self.input.encounters[at.encounter_idx].diagnoses;
        let matched = entry.matching(diagnoses);
        if required == matched.is_some() {
            return;
        }
        let list_type = self.list_type(&line.med_list_codg);
        for rule in self.rules_for(
            table,
            line.fee_date,
            entry.scope.tag.as_deref(),
            |executor| match executor {
                Executor::DiagnosisRequired { list_types }
                | Executor::DiagnosisExcluded { list_types } => {
                    list_type.is_some_and(|t| list_types.contains(&t))
                }
                _ => false,
            },
        ) {
            let item = self.item_name(&line.med_list_codg);
            let prefixes = entry.dise_codg_prefixes.join("、");
            let dx_list = if diagnoses.is_empty() {
                "无".to_owned()
            } else {
                diagnoses.join("、")
            };
            let vola_cont = if required {
                message(format_args!(
                    "【{item}】限诊断为【{prefixes}】使用，本次诊断【{dx_list}】不符合且已由基金支付"
                ))
            } else {
                message(format_args!(
                    "【{item}】禁用于诊断【{prefixes}】，本次诊断【{dx_list}】（{}）",
                    line.fee_date
                ))
            };
            let evidence = Evidence {
                table: Some(table),
                entry_idx: Some(idx),
                values: vec![("dise_codg_prefixes", prefixes), ("diagnoses", dx_list)],
            };
            findings.push(self.single_line_finding(rule, at, vola_cont, evidence));
        }
    }

    /// Order of lines in time: fee date, then input order.
    fn order_key(&self, at: At) -> (NaiveDate, At) {
        (self.line(at).fee_date, at)
    }

    fn quantities(&self, hits: &mut [QuantityHit], findings: &mut Vec<Finding>) {
        hits.sort_unstable();
        for group in hits.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            self.quantity_group(group, findings);
        }
    }

    fn quantity_group(&self, group: &[QuantityHit], findings: &mut Vec<Finding>) {
        let idx = group[0].0;
        let entry = &self.knowledge.quantity_limit[idx];
        let total: i64 = group.iter().map(|&(_, _, _, at)| self.line(at).cnt.0).sum();
        if total <= entry.max_cnt.0 {
            return;
        }
        // The lines that take the running count over the cap carry the excess, latest first
        // in the sense that earlier lines used the allowance.
        let mut running = 0_i64;
        let mut over: Vec<(At, i64)> = Vec::new();
        for &(_, _, _, at) in group {
            let cnt = self.line(at).cnt.0;
            let before = running;
            running += cnt;
            if running > entry.max_cnt.0 && self.flaggable(at.encounter_idx) {
                let excess = running - entry.max_cnt.0.max(before);
                over.push((at, excess.min(cnt)));
            }
        }
        let Some(&(first_over, _)) = over.first() else {
            return;
        };
        let first_line = self.line(first_over);
        let list_type = self.list_type(&entry.med_list_codg);
        for rule in self.rules_for(Table::QuantityLimit, first_line.fee_date, entry.scope.tag.as_deref(), |executor| {
            matches!(executor, Executor::QuantityLimit { list_types, per } if *per == entry.per && list_type.is_some_and(|t| list_types.contains(&t)))
        }) {
            let mut details = Vec::new();
            let mut vola_amt = Fen::ZERO;
            for &(_, _, _, at) in group {
                match over.iter().find(|(over_at, _)| *over_at == at) {
                    Some(&(_, excess)) => {
                        let line = self.line(at);
                        let amount = match rule.money_kind {
                            MoneyKind::Excess => excess_share(line.amount, excess, line.cnt.0),
                            _ => self.line_money(rule, at),
                        };
                        vola_amt += amount;
                        details.push(self.detail(at, VolaItemType::Violating, amount));
                    }
                    None => details.push(self.detail(at, VolaItemType::Involved, Fen::ZERO)),
                }
            }
            let window = match entry.per {
                Window::Day => format!("每日（{}）", first_line.fee_date),
                Window::Visit => "每次就诊".to_owned(),
            };
            let vola_cont = message(format_args!(
                "【{}】{}限{}，实际{}，超出{}",
                self.item_name(&entry.med_list_codg),
                window,
                entry.max_cnt,
                Quantity(total),
                Quantity(total - entry.max_cnt.0)
            ));
            findings.push(self.finding(
                rule,
                first_over,
                vola_amt,
                details,
                vola_cont,
                Evidence {
                    table: Some(Table::QuantityLimit),
                    entry_idx: Some(idx),
                    values: vec![
                        ("max_cnt", entry.max_cnt.to_string()),
                        ("cnt", Quantity(total).to_string()),
                    ],
                },
            ));
        }
    }

    /// Walks each entry's charges in time order; a charge fewer than `min_days` after the last
    /// charge that kept the interval is flagged, and that earlier charge is named as involved.
    fn intervals(&self, hits: &mut [IntervalHit], findings: &mut Vec<Finding>) {
        hits.sort_unstable();
        for group in hits.chunk_by(|a, b| a.0 == b.0) {
            let idx = group[0].0;
            let entry = &self.knowledge.min_interval[idx];
            let mut kept = group[0];
            for &hit in &group[1..] {
                let days = (hit.1 - kept.1).num_days();
                if days >= i64::from(entry.min_days) {
                    kept = hit;
                    continue;
                }
                self.interval_finding(idx, hit.2, kept.2, days, findings);
            }
        }
    }

    fn interval_finding(
        &self,
        idx: usize,
        later: At,
        earlier: At,
        days: i64,
        findings: &mut Vec<Finding>,
    ) {
        if !self.flaggable(later.encounter_idx) {
            return;
        }
        let entry = &self.knowledge.min_interval[idx];
        let later_line = self.line(later);
        let earlier_line = self.line(earlier);
        let list_type = self.list_type(&later_line.med_list_codg);
        for rule in self.rules_for(Table::MinInterval, later_line.fee_date, entry.scope.tag.as_deref(), |executor| {
            matches!(executor, Executor::MinInterval { list_types } if list_type.is_some_and(|t| list_types.contains(&t)))
        }) {
            let vola_cont = message(format_args!(
                "【{}】两次收费间隔应不少于{}天，本次（{}）距上次（{}）仅{}天",
                self.item_name(&later_line.med_list_codg),
                entry.min_days,
                later_line.fee_date,
                earlier_line.fee_date,
                days
            ));
            findings.push(self.pair_finding(
                rule,
                later,
                earlier,
                vola_cont,
                Evidence {
                    table: Some(Table::MinInterval),
                    entry_idx: Some(idx),
                    values: vec![
                        ("min_days", entry.min_days.to_string()),
                        ("days", days.to_string()),
                    ],
                },
            ));
        }
    }

    fn pairs(&self, hits: &mut [PairHit], findings: &mut Vec<Finding>) {
        hits.sort_unstable();
        for group in hits.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            self.pair_group(group, findings);
        }
    }

    fn pair_group(&self, group: &[PairHit], findings: &mut Vec<Finding>) {
        let idx = group[0].0;
        let entry = &self.knowledge.exclusive_pair[idx];
        // Within a group the lines are sorted by side, then time: the last of each side is the
        // latest line of that side.
        let last_of = |side: bool| {
            group
                .iter()
                .filter(|&&(_, _, s, _, _)| s == side)
                .map(|&(_, _, _, _, at)| at)
                .max_by_key(|&at| self.order_key(at))
        };
        let (Some(last_a), Some(last_b)) = (last_of(true), last_of(false)) else {
            return;
        };
        let (later, other) = if self.order_key(last_a) > self.order_key(last_b) {
            (last_a, last_b)
        } else {
            (last_b, last_a)
        };
        if !self.flaggable(later.encounter_idx) {
            return;
        }
        let later_line = self.line(later);
        let other_line = self.line(other);
        let type_a = self.list_type(&entry.med_list_codg_a);
        let type_b = self.list_type(&entry.med_list_codg_b);
        for rule in self.rules_for(
            Table::ExclusivePair,
            later_line.fee_date,
            entry.scope.tag.as_deref(),
            |executor| {
                matches!(executor, Executor::ExclusivePair { list_type_a, list_type_b, within, .. }
                if *within == entry.within
                    && ((type_a == Some(*list_type_a) && type_b == Some(*list_type_b))
                        || (type_a == Some(*list_type_b) && type_b == Some(*list_type_a))))
            },
        ) {
            let relation = match &rule.executor {
                Executor::ExclusivePair { relation, .. } => relation.as_str(),
                _ => "",
            };
            let vola_cont = message(format_args!(
                "【{}】与【{}】{}，同一{}内同时开具（{}）",
                self.item_name(&later_line.med_list_codg),
                self.item_name(&other_line.med_list_codg),
                relation,
                entry.within.zh(),
                later_line.fee_date
            ));
            findings.push(self.pair_finding(
                rule,
                later,
                other,
                vola_cont,
                Evidence {
                    table: Some(Table::ExclusivePair),
                    entry_idx: Some(idx),
                    values: vec![
                        ("med_list_codg_a", entry.med_list_codg_a.clone()),
                        ("med_list_codg_b", entry.med_list_codg_b.clone()),
                        ("within", entry.within.code().to_owned()),
                    ],
                },
            ));
        }
    }

    /// Diagnosis rules: encounter-level, no line named, no money (a lead for review).
    fn diagnoses(&self, findings: &mut Vec<Finding>) {
        if self.knowledge.dx_sex_limit.is_empty() && self.knowledge.dx_age_limit.is_empty() {
            return;
        }
        let person = &self.input.person;
        for (encounter_idx, encounter) in self.input.encounters.iter().enumerate() {
            if !self.flaggable(encounter_idx) {
                continue;
            }
            let date = encounter.begn_date;
            let age = age_years(person.brdy, date);
            for dise_codg in &encounter.diagnoses {
                for (idx, entry) in self.knowledge.dx_sex_limit.iter().enumerate() {
                    if person.gend == Gend::Unknown
                        || person.gend == entry.gend
                        || !has_prefix(dise_codg, &entry.dise_codg_prefix)
                        || !entry.scope.applies(date, self.input.admdvs)
                    {
                        continue;
                    }
                    for rule in
                        self.rules_for(Table::DxSexLimit, date, entry.scope.tag.as_deref(), |_| {
                            true
                        })
                    {
                        let vola_cont = message(format_args!(
                            "诊断【{}】限{}使用，患者性别为{}（{}）",
                            dise_codg,
                            entry.gend.zh(),
                            person.gend.zh(),
                            date
                        ));
                        findings.push(encounter_finding(
                            rule,
                            encounter_idx,
                            vola_cont,
                            Evidence {
                                table: Some(Table::DxSexLimit),
                                entry_idx: Some(idx),
                                values: vec![
                                    ("dise_codg", dise_codg.clone()),
                                    ("gend", person.gend.code().to_owned()),
                                ],
                            },
                        ));
                    }
                }
                for (idx, entry) in self.knowledge.dx_age_limit.iter().enumerate() {
                    let outside = entry.min_age.is_some_and(|min| age < i64::from(min))
                        || entry.max_age.is_some_and(|max| age > i64::from(max));
                    if !outside
                        || !has_prefix(dise_codg, &entry.dise_codg_prefix)
                        || !entry.scope.applies(date, self.input.admdvs)
                    {
                        continue;
                    }
                    for rule in
                        self.rules_for(Table::DxAgeLimit, date, entry.scope.tag.as_deref(), |_| {
                            true
                        })
                    {
                        let vola_cont = message(format_args!(
                            "诊断【{}】限{}使用，患者年龄为{}岁（{}）",
                            dise_codg,
                            age_range_zh(entry.min_age, entry.max_age),
                            age,
                            date
                        ));
                        findings.push(encounter_finding(
                            rule,
                            encounter_idx,
                            vola_cont,
                            Evidence {
                                table: Some(Table::DxAgeLimit),
                                entry_idx: Some(idx),
                                values: vec![
                                    ("dise_codg", dise_codg.clone()),
                                    ("age", age.to_string()),
                                ],
                            },
                        ));
                    }
                }
            }
        }
    }
}

pub(crate) fn encounter_finding(
    rule: &Rule,
    encounter_idx: usize,
    vola_cont: String,
    evidence: Evidence,
) -> Finding {
    Finding {
        rule_id: rule.rule_id.clone(),
        rule_version: rule.version,
        sev_deg: rule.sev_deg,
        money_kind: rule.money_kind,
        encounter_idx,
        vola_cont,
        vola_amt: Fen::ZERO,
        details: Vec::new(),
        evidence,
    }
}

/// The excess part of a line's amount: amount × excess ÷ count, half up to the fen.
pub(crate) fn excess_share(amount: Fen, excess: i64, cnt: i64) -> Fen {
    if cnt <= 0 {
        return Fen::ZERO;
    }
    Fen(round_half_up(i128::from(amount.0) * i128::from(excess), i128::from(cnt)) as i64)
}

/// A `vola_cont` message, written into one buffer sized for a typical message (about 60 Chinese
/// characters), so building it does not reallocate.
pub(crate) fn message(args: std::fmt::Arguments<'_>) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(256);
    // Writing to a String cannot fail.
    let _ = text.write_fmt(args);
    text
}

fn option_text(value: Option<u32>) -> String {
    value.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

fn age_range_zh(min_age: Option<u32>, max_age: Option<u32>) -> String {
    match (min_age, max_age) {
        (Some(min), Some(max)) => format!("{min}至{max}岁"),
        (Some(min), None) => format!("{min}岁及以上"),
        (None, Some(max)) => format!("{max}岁及以下"),
        (None, None) => "不限年龄".to_owned(),
    }
}
