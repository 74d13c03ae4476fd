//! The review of a finding (§5.4): a case goes through first review (初审), the institution's
//! appeal window (申诉), second review (复审) and final review (终审), three different staff
//! deciding in turn. Pure: the case's history in, its state or a refusal out. The store keeps
//! the history (append-only) and asks this module before it appends.
//!
//! - 初审 upholds an amount (at most the money flagged) or dismisses the case.
//! - An upheld case is notified to the institution, which may appeal once, within the region's
//!   deadline counted in days from the first decision.
//! - 复审 comes after the appeal or after the deadline has passed; its amount is at most 初审's.
//! - 终审 confirms an amount (at most 复审's) or dismisses. The three deciders are pairwise
//!   different. A confirmed amount becomes a receivable, with the rule's penalty multiple.

use chrono::NaiveDateTime;
use yibao_core_types::{Fen, Ratio};

/// A review step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// 初审.
    First,
    /// 复审.
    Second,
    /// 终审.
    Final,
}

impl Step {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Step::First => "first",
            Step::Second => "second",
            Step::Final => "final",
        }
    }

    /// Reads a stored code.
    pub fn parse(text: &str) -> Option<Step> {
        match text {
            "first" => Some(Step::First),
            "second" => Some(Step::Second),
            "final" => Some(Step::Final),
            _ => None,
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            Step::First => "初审",
            Step::Second => "复审",
            Step::Final => "终审",
        }
    }
}

/// A reviewer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 疑点成立: the amount the reviewer holds as improperly paid.
    Uphold(Fen),
    /// 疑点不成立: the case closes without an amount.
    Dismiss,
}

/// One entry of a case's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseEvent {
    /// A reviewer decided a step.
    Decided {
        /// The step.
        step: Step,
        /// The staff member (their account id).
        actor: String,
        /// The decision.
        verdict: Verdict,
        /// When.
        at: NaiveDateTime,
    },
    /// The institution appealed.
    Appealed {
        /// The institution's user.
        actor: String,
        /// When.
        at: NaiveDateTime,
    },
}

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseState {
    /// Waiting for 初审.
    AwaitingFirst,
    /// 初审 upheld `upheld`; the institution may appeal until `appeal_until`; 复审 waits for the
    /// appeal or the deadline.
    AppealWindow {
        /// The amount upheld at 初审.
        upheld: Fen,
        /// The last moment an appeal is accepted.
        appeal_until: NaiveDateTime,
    },
    /// Waiting for 复审 (appealed, or the window has passed).
    AwaitingSecond {
        /// The amount upheld at 初审.
        upheld: Fen,
        /// Whether the institution appealed.
        appealed: bool,
    },
    /// Waiting for 终审.
    AwaitingFinal {
        /// The amount upheld at 复审.
        upheld: Fen,
    },
    /// 终审 confirmed `amount`.
    Confirmed {
        /// The confirmed amount.
        amount: Fen,
    },
    /// Dismissed at `step`.
    Dismissed {
        /// The step that dismissed it.
        step: Step,
    },
}

impl CaseState {
    /// The stored and reported code.
    pub fn code(self) -> &'static str {
        match self {
            CaseState::AwaitingFirst => "awaiting_first",
            CaseState::AppealWindow { .. } => "appeal_window",
            CaseState::AwaitingSecond { .. } => "awaiting_second",
            CaseState::AwaitingFinal { .. } => "awaiting_final",
            CaseState::Confirmed { .. } => "confirmed",
            CaseState::Dismissed { .. } => "dismissed",
        }
    }

    /// Whether the case is closed (confirmed or dismissed).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            CaseState::Confirmed { .. } | CaseState::Dismissed { .. }
        )
    }
}

/// Why a decision or an appeal is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The step is not the case's next one.
    #[error("{step} is not the next step: the case is {state}")]
    OutOfOrder {
        /// The step asked for.
        step: &'static str,
        /// The case's state.
        state: &'static str,
    },
    /// The same staff member already decided an earlier step.
    #[error("{actor} already decided the {earlier} of this case; {step} needs another reviewer")]
    SameReviewer {
        /// The staff member.
        actor: String,
        /// Their earlier step.
        earlier: &'static str,
        /// The step asked for.
        step: &'static str,
    },
    /// The amount is out of range.
    #[error("the amount {amount} fen is not within 1..={max} fen")]
    Amount {
        /// The amount asked for.
        amount: i64,
        /// The most allowed.
        max: i64,
    },
    /// 复审 before the appeal window closed without an appeal.
    #[error("the institution may appeal until {until}; 复审 waits for the appeal or the deadline")]
    AppealPending {
        /// The deadline.
        until: NaiveDateTime,
    },
    /// An appeal when none is open.
    #[error("no appeal is open: the case is {state}")]
    NoAppealOpen {
        /// The case's state.
        state: &'static str,
    },
    /// An appeal after the deadline.
    #[error("the appeal deadline {until} has passed")]
    AppealLate {
        /// The deadline.
        until: NaiveDateTime,
    },
}

/// The case's state after `events` (in order) at time `now`, with appeals open for
/// `appeal_days` days after 初审.
pub fn state(events: &[CaseEvent], now: NaiveDateTime, appeal_days: u32) -> CaseState {
    let mut state = CaseState::AwaitingFirst;
    let mut appealed = false;
    for event in events {
        state = match (event_step(event), state) {
            (Some(Step::First), CaseState::AwaitingFirst) => match verdict(event) {
                Verdict::Uphold(amount) => CaseState::AppealWindow {
                    upheld: amount,
                    appeal_until: event_at(event) + chrono::Duration::days(i64::from(appeal_days)),
                },
                Verdict::Dismiss => CaseState::Dismissed { step: Step::First },
            },
            (None, CaseState::AppealWindow { upheld, .. }) => {
                appealed = true;
                CaseState::AwaitingSecond {
                    upheld,
                    appealed: true,
                }
            }
            (Some(Step::Second), CaseState::AppealWindow { .. })
            | (Some(Step::Second), CaseState::AwaitingSecond { .. }) => match verdict(event) {
                Verdict::Uphold(amount) => CaseState::AwaitingFinal { upheld: amount },
                Verdict::Dismiss => CaseState::Dismissed { step: Step::Second },
            },
            (Some(Step::Final), CaseState::AwaitingFinal { .. }) => match verdict(event) {
                Verdict::Uphold(amount) => CaseState::Confirmed { amount },
                Verdict::Dismiss => CaseState::Dismissed { step: Step::Final },
            },
            // A history the checks below would have refused: keep the state it reached.
            (_, other) => other,
        };
    }
    match state {
        CaseState::AppealWindow {
            upheld,
            appeal_until,
        } if now > appeal_until => CaseState::AwaitingSecond { upheld, appealed },
        other => other,
    }
}

fn event_step(event: &CaseEvent) -> Option<Step> {
    match event {
        CaseEvent::Decided { step, .. } => Some(*step),
        CaseEvent::Appealed { .. } => None,
    }
}

fn verdict(event: &CaseEvent) -> Verdict {
    match event {
        CaseEvent::Decided { verdict, .. } => *verdict,
        CaseEvent::Appealed { .. } => Verdict::Dismiss,
    }
}

fn event_at(event: &CaseEvent) -> NaiveDateTime {
    match event {
        CaseEvent::Decided { at, .. } | CaseEvent::Appealed { at, .. } => *at,
    }
}

/// Checks a decision of `step` by `actor` on a case with `events`, flagged `flagged`; returns
/// the state it leads to.
pub fn decide(
    events: &[CaseEvent],
    flagged: Fen,
    step: Step,
    actor: &str,
    verdict: Verdict,
    now: NaiveDateTime,
    appeal_days: u32,
) -> Result<CaseState, ReviewError> {
    let current = state(events, now, appeal_days);
    let max = match (step, current) {
        (Step::First, CaseState::AwaitingFirst) => flagged,
        (Step::Second, CaseState::AwaitingSecond { upheld, .. }) => upheld,
        (Step::Second, CaseState::AppealWindow { appeal_until, .. }) => {
            return Err(ReviewError::AppealPending {
                until: appeal_until,
            })
        }
        (Step::Final, CaseState::AwaitingFinal { upheld }) => upheld,
        _ => {
            return Err(ReviewError::OutOfOrder {
                step: step.zh(),
                state: current.code(),
            })
        }
    };
    for event in events {
        if let CaseEvent::Decided {
            step: earlier,
            actor: by,
            ..
        } = event
        {
            if by == actor {
                return Err(ReviewError::SameReviewer {
                    actor: actor.to_owned(),
                    earlier: earlier.zh(),
                    step: step.zh(),
                });
            }
        }
    }
    if let Verdict::Uphold(amount) = verdict {
        if amount.0 < 1 || amount > max {
            return Err(ReviewError::Amount {
                amount: amount.0,
                max: max.0,
            });
        }
    }
    let mut after = events.to_vec();
    after.push(CaseEvent::Decided {
        step,
        actor: actor.to_owned(),
        verdict,
        at: now,
    });
    Ok(state(&after, now, appeal_days))
}

/// Checks an appeal on a case with `events`: open only in the window after an upheld 初审, once.
pub fn appeal(
    events: &[CaseEvent],
    now: NaiveDateTime,
    appeal_days: u32,
) -> Result<(), ReviewError> {
    // The window as it stood, ignoring the clock, tells a late appeal from no appeal.
    let far_past = NaiveDateTime::MIN;
    match state(events, far_past, appeal_days) {
        CaseState::AppealWindow { appeal_until, .. } if now <= appeal_until => Ok(()),
        CaseState::AppealWindow { appeal_until, .. } => Err(ReviewError::AppealLate {
            until: appeal_until,
        }),
        other => Err(ReviewError::NoAppealOpen {
            state: other.code(),
        }),
    }
}

/// The receivable of a confirmed amount: the amount itself and the penalty, `multiple` times
/// the amount rounded half up to the fen.
pub fn receivable(amount: Fen, multiple: Ratio) -> (Fen, Fen) {
    (amount, amount.mul_ratio(multiple))
}

/// The shipped penalty file: (name, text). A rule listed there confirms with a penalty of
/// `multiple` times the confirmed amount; other rules with none.
pub const PENALTIES_FILE: (&str, &str) = (
    "data/audit/penalties.csv",
    include_str!("../../../data/audit/penalties.csv"),
);

/// A rule's penalty: the multiple and its legal basis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Penalty {
    /// The rule.
    pub rule_id: String,
    /// Times the confirmed amount (an exact decimal, 0–5).
    pub multiple: Ratio,
    /// The legal basis quoted in the decision.
    pub basis: String,
}

/// The shipped penalty file, checked against `rules`.
pub fn shipped_penalties(rules: &crate::RuleSet) -> Result<Vec<Penalty>, crate::LoadError> {
    let ids: Vec<&str> = rules.rules.iter().map(|r| r.rule_id.as_str()).collect();
    load_penalties(PENALTIES_FILE.0, PENALTIES_FILE.1, &ids)
}

/// Reads a penalty file (`rule_id,multiple,basis`); every `rule_id` must be one of
/// `rule_ids`, once. An error names the file, the row and the reason.
pub fn load_penalties(
    name: &str,
    text: &str,
    rule_ids: &[&str],
) -> Result<Vec<Penalty>, crate::LoadError> {
    let error = |row: String, reason: String| crate::LoadError {
        file: name.to_owned(),
        row,
        reason,
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|err| error("header".into(), err.to_string()))?
        .clone();
    if headers.iter().collect::<Vec<_>>() != ["rule_id", "multiple", "basis"] {
        return Err(error(
            "header".into(),
            "the columns must be rule_id,multiple,basis".into(),
        ));
    }
    let mut penalties: Vec<Penalty> = Vec::new();
    for (idx, record) in reader.records().enumerate() {
        let row = format!("line {}", idx + 2);
        let record = record.map_err(|err| error(row.clone(), err.to_string()))?;
        let rule_id = record.get(0).unwrap_or_default().to_owned();
        if !rule_ids.contains(&rule_id.as_str()) {
            return Err(error(row, format!("rule_id: no rule `{rule_id}`")));
        }
        if penalties.iter().any(|p| p.rule_id == rule_id) {
            return Err(error(row, format!("rule_id: `{rule_id}` is listed twice")));
        }
        let text = record.get(1).unwrap_or_default();
        let multiple = Ratio::parse(text)
            .ok()
            .filter(|m| *m >= Ratio::percent(0) && *m <= Ratio::percent(500))
            .ok_or_else(|| {
                error(
                    row.clone(),
                    format!("multiple: `{text}` is not a decimal from 0 to 5"),
                )
            })?;
        let basis = record.get(2).unwrap_or_default().trim().to_owned();
        if basis.is_empty() {
            return Err(error(row, "basis: is required".into()));
        }
        penalties.push(Penalty {
            rule_id,
            multiple,
            basis,
        });
    }
    Ok(penalties)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    fn decided(step: Step, actor: &str, verdict: Verdict, day: u32) -> CaseEvent {
        CaseEvent::Decided {
            step,
            actor: actor.into(),
            verdict,
            at: at(day),
        }
    }

    #[test]
    fn three_different_reviewers_confirm_in_turn() {
        let flagged = Fen(10_000);
        let mut events = Vec::new();
        let s = decide(
            &events,
            flagged,
            Step::First,
            "a",
            Verdict::Uphold(Fen(9_000)),
            at(1),
            10,
        )
        .unwrap();
        assert!(matches!(
            s,
            CaseState::AppealWindow {
                upheld: Fen(9_000),
                ..
            }
        ));
        events.push(decided(Step::First, "a", Verdict::Uphold(Fen(9_000)), 1));
        // 复审 waits for the deadline or an appeal.
        assert!(matches!(
            decide(
                &events,
                flagged,
                Step::Second,
                "b",
                Verdict::Dismiss,
                at(5),
                10
            ),
            Err(ReviewError::AppealPending { .. })
        ));
        appeal(&events, at(5), 10).unwrap();
        events.push(CaseEvent::Appealed {
            actor: "h".into(),
            at: at(5),
        });
        assert!(matches!(
            appeal(&events, at(6), 10),
            Err(ReviewError::NoAppealOpen { .. })
        ));
        assert!(matches!(
            decide(
                &events,
                flagged,
                Step::Second,
                "a",
                Verdict::Dismiss,
                at(6),
                10
            ),
            Err(ReviewError::SameReviewer { .. })
        ));
        assert!(matches!(
            decide(
                &events,
                flagged,
                Step::Second,
                "b",
                Verdict::Uphold(Fen(9_001)),
                at(6),
                10
            ),
            Err(ReviewError::Amount { max: 9_000, .. })
        ));
        decide(
            &events,
            flagged,
            Step::Second,
            "b",
            Verdict::Uphold(Fen(8_000)),
            at(6),
            10,
        )
        .unwrap();
        events.push(decided(Step::Second, "b", Verdict::Uphold(Fen(8_000)), 6));
        for who in ["a", "b"] {
            assert!(matches!(
                decide(
                    &events,
                    flagged,
                    Step::Final,
                    who,
                    Verdict::Uphold(Fen(1)),
                    at(7),
                    10
                ),
                Err(ReviewError::SameReviewer { .. })
            ));
        }
        let s = decide(
            &events,
            flagged,
            Step::Final,
            "c",
            Verdict::Uphold(Fen(8_000)),
            at(7),
            10,
        )
        .unwrap();
        assert_eq!(s, CaseState::Confirmed { amount: Fen(8_000) });
    }

    #[test]
    fn out_of_order_and_late_are_refused() {
        let flagged = Fen(500);
        assert!(matches!(
            decide(&[], flagged, Step::Final, "c", Verdict::Dismiss, at(1), 10),
            Err(ReviewError::OutOfOrder { .. })
        ));
        assert!(matches!(
            appeal(&[], at(1), 10),
            Err(ReviewError::NoAppealOpen { .. })
        ));
        let events = vec![decided(Step::First, "a", Verdict::Uphold(Fen(500)), 1)];
        assert!(matches!(
            appeal(&events, at(12), 10),
            Err(ReviewError::AppealLate { .. })
        ));
        // After the deadline 复审 may go on without an appeal.
        assert_eq!(
            state(&events, at(12), 10),
            CaseState::AwaitingSecond {
                upheld: Fen(500),
                appealed: false
            }
        );
        let dismissed = vec![decided(Step::First, "a", Verdict::Dismiss, 1)];
        assert!(matches!(
            decide(
                &dismissed,
                flagged,
                Step::Second,
                "b",
                Verdict::Dismiss,
                at(2),
                10
            ),
            Err(ReviewError::OutOfOrder { .. })
        ));
        assert!(matches!(
            decide(
                &[],
                flagged,
                Step::First,
                "a",
                Verdict::Uphold(Fen(0)),
                at(1),
                10
            ),
            Err(ReviewError::Amount { .. })
        ));
    }

    #[test]
    fn receivable_rounds_the_penalty_half_up() {
        let r = |text: &str| Ratio::parse(text).unwrap();
        assert_eq!(receivable(Fen(1_001), r("0.5")), (Fen(1_001), Fen(501)));
        assert_eq!(receivable(Fen(1_000), r("0")), (Fen(1_000), Fen(0)));
        assert_eq!(receivable(Fen(333), r("2")), (Fen(333), Fen(666)));
    }

    #[test]
    fn the_shipped_penalties_name_shipped_rules() {
        let base = crate::builtin().unwrap();
        let ids: Vec<&str> = base
            .rules
            .rules
            .iter()
            .map(|r| r.rule_id.as_str())
            .collect();
        let penalties = shipped_penalties(&base.rules).unwrap();
        assert!(!penalties.is_empty());
        let bad = |text: &str| load_penalties("p.csv", text, &ids).unwrap_err().to_string();
        assert!(bad("rule_id,multiple,basis\nNOPE,1,x\n").contains("no rule `NOPE`"));
        assert!(bad("rule_id,multiple,basis\nPRC-01,9,x\n").contains("multiple"));
        assert!(bad("rule_id,multiple,basis\nPRC-01,1,\n").contains("basis"));
        assert!(bad("rule_id,multiple,basis\nPRC-01,1,x\nPRC-01,1,x\n").contains("twice"));
        assert!(bad("rule,multiple,basis\n").contains("columns"));
    }
}
