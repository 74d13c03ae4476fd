//! Applying answers: the checks each answer must pass on arrival, and what it changes in
//! the hospitals' knowledge and in the oracle.

use super::*;

impl Simulator {
    /// Reads an answer: `Ok(Some(output))` on success, `Ok(None)` on a refusal, an error on a
    /// server failure or an unreadable answer.
    pub(super) fn read(&self, line: &str, reply: &Reply) -> Result<Option<String>, SimError> {
        if reply.status != 200 {
            return Err(self.violation(
                line,
                format!(
                    "HTTP {}: {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                ),
            ));
        }
        let answer = Answer::parse(&reply.body).map_err(|e| self.violation(line, e))?;
        match answer.infcode() {
            Some(0) => Ok(Some(answer.output().unwrap_or("null").to_owned())),
            Some(-1) => Ok(None),
            other => Err(self.violation(line, format!("infcode {other:?}"))),
        }
    }

    /// Applies one answer (or its absence) of a step the process survived: checks it against
    /// what the operation must get, then updates the hospital and the oracle.
    pub(super) fn apply(
        &mut self,
        op: &Op,
        reply: Option<Reply>,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        let Some(reply) = reply else {
            // The request was lost: the server saw nothing; the hospital does not know.
            self.summary.answer_digest.add("lost");
            let c = op.chain.expect("only chain messages are lost");
            self.chains[c].pending = Some(Lost::Request);
            return Ok(());
        };
        let output = self.read(&op.line, &reply)?;
        let err_msg = || {
            Answer::parse(&reply.body)
                .ok()
                .and_then(|a| a.err_msg)
                .unwrap_or_default()
        };
        match (&output, op.what.refused()) {
            (Some(output), true) => {
                return Err(self.violation(
                    &op.line,
                    format!(
                        "accepted where it must be refused: {}",
                        output.chars().take(300).collect::<String>()
                    ),
                ))
            }
            (None, false) => {
                return Err(self.violation(&op.line, format!("refused: {}", err_msg())));
            }
            (None, true) => {
                self.summary.answer_digest.add("refused");
                self.summary.check("refusals", 1);
                let msg = err_msg();
                // The refusal must be for the fault's reason, not another one.
                let reason = match op.what {
                    What::Conflict => Some(op.msgid.as_str()),
                    What::Late => Some("revoked"),
                    _ => None,
                };
                if let Some(reason) = reason.filter(|r| !msg.contains(r)) {
                    return Err(self.violation(
                        &op.line,
                        format!("refused for another reason than `{reason}`: {msg}"),
                    ));
                }
                if let (Some(c), What::Conflict | What::UndoAgain) = (op.chain, op.what) {
                    let chain = &mut self.chains[c];
                    chain.at += 1;
                    chain.done = chain.at >= chain.plan.len();
                }
                return Ok(());
            }
            (Some(_), false) => {}
        }
        let output = output.expect("matched");
        match op.what {
            What::Step { plan_idx } => self.apply_step(op, plan_idx, output, touched),
            What::RevokeLost { plan_idx } => {
                self.summary.answer_digest.add(&format!("revoked {output}"));
                self.apply_revoke_lost(op, plan_idx, touched);
                Ok(())
            }
            What::Phantom => {
                self.summary.answer_digest.add(&format!("revoked {output}"));
                Ok(())
            }
            What::UndoOld { k, revoke: true } => {
                self.summary.answer_digest.add(&format!("revoked {output}"));
                self.undo_settlement(k, touched);
                Ok(())
            }
            What::UndoOld { k, revoke: false } => self.apply_reversal(op, k, &output, touched),
            What::Late | What::Reorder { .. } | What::Conflict | What::UndoAgain => {
                unreachable!("refusals returned above")
            }
        }
    }

    pub(super) fn undo_settlement(&mut self, k: usize, touched: &mut BTreeSet<usize>) {
        let known = &mut self.known[k];
        known.reversed = true;
        self.n_reversals += 1;
        *self.balances.entry(known.site).or_default() -= known.net_fen;
        touched.insert(k);
    }

    pub(super) fn apply_step(
        &mut self,
        op: &Op,
        plan_idx: usize,
        output: String,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        let c = op.chain.expect("a chain operation");
        let msg = self.chains[c].msgs[plan_idx]
            .clone()
            .expect("a sent message was built");
        if msg.executed {
            // A retry or a duplicate: the stored answer, exactly.
            let first: Value = serde_json::from_str(msg.output.as_deref().unwrap_or("null"))
                .unwrap_or(Value::Null);
            let again: Value = serde_json::from_str(&output).unwrap_or(Value::Null);
            self.summary.check("replays", 1);
            if first != again {
                return Err(self.violation(
                    &op.line,
                    format!(
                        "a replay of msgid {} answered differently: first {}, now {}",
                        msg.msgid,
                        msg.output.as_deref().unwrap_or("null"),
                        output
                    ),
                ));
            }
            self.summary
                .answer_digest
                .add(&answer_line(msg.infno, &output));
            if op.twin {
                return Ok(());
            }
        } else {
            if msg.in_doubt {
                *self
                    .summary
                    .in_flight
                    .entry("in doubt, settled")
                    .or_default() += 1;
            }
            self.first_answer(op, c, &output, touched)?;
            let slot = self.chains[c].msgs[plan_idx].as_mut().expect("built");
            slot.executed = true;
            slot.in_doubt = false;
            slot.output = Some(output.clone());
            if op.twin {
                return Ok(());
            }
        }
        if !op.show {
            if self.chains[c].pending.is_none() {
                self.chains[c].pending = Some(Lost::Answer);
            }
            return Ok(());
        }
        // The hospital has the answer.
        let chain = &mut self.chains[c];
        chain.pending = None;
        chain.at += 1;
        match msg.infno {
            "2201" | "2401" => {
                chain.mdtrt_id = Some(registered_mdtrt_id(&output).unwrap_or_default());
            }
            "2207" | "2304" => {
                if let Some(k) = self.chains[c].settlement {
                    self.seen.push(k);
                }
                self.plan_after_settlement(c);
            }
            _ => {}
        }
        if self.chains[c].at >= self.chains[c].plan.len() {
            self.chains[c].done = true;
        }
        Ok(())
    }

    /// What follows a settlement the hospital saw: nothing, or a conflicting reuse of its msgid,
    /// a reversal or a revocation (then perhaps a second one) and the visit's cancellation.
    pub(super) fn plan_after_settlement(&mut self, c: usize) {
        let faults = self.config.faults.clone();
        let mut more = Vec::new();
        if self.roll(faults.conflict) {
            more.push(Step::Conflict);
        }
        if self.roll(faults.reversal) {
            let reversal = if self.chains[c].inpatient {
                "2305"
            } else {
                "2208"
            };
            more.push(if self.rng.random_range(0..2) == 0 {
                self.summary.fault("reversal");
                Step::Send(reversal)
            } else {
                self.summary.fault("revoke of a settlement");
                Step::Send("2601")
            });
            if self.roll(faults.undo_again) {
                more.push(Step::UndoAgain);
            }
            let cancel: &[&'static str] = if self.chains[c].inpatient {
                &INPATIENT_CANCEL
            } else {
                &OUTPATIENT_CANCEL
            };
            more.extend(cancel.iter().map(|i| Step::Send(i)));
        }
        let chain = &mut self.chains[c];
        chain.plan.extend(more);
        chain.msgs.resize(chain.plan.len(), None);
    }

    /// Checks the first successful answer of a chain message and records what it committed.
    pub(super) fn first_answer(
        &mut self,
        op: &Op,
        c: usize,
        output: &str,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        let bill_fen = self.chains[c].bill.total_fen();
        let n_lines = self.chains[c].bill.lines.len();
        match op.infno {
            "2201" | "2401" => {
                if registered_mdtrt_id(output).is_none() {
                    return Err(self.violation(&op.line, format!("no mdtrt_id in {output}")));
                }
                self.summary
                    .answer_digest
                    .add(&answer_line(op.infno, output));
            }
            "2204" | "2301" => {
                let totals = parse_fee_result(output)
                    .map_err(|problems| self.violation(&op.line, problems.join("; ")))?;
                if totals.det_item_fee_sumamt != bill_fen || totals.n_lines != n_lines {
                    return Err(self.violation(
                        &op.line,
                        format!(
                            "answered {} lines / {} fen for {n_lines} lines / {bill_fen} fen",
                            totals.n_lines, totals.det_item_fee_sumamt
                        ),
                    ));
                }
                self.summary
                    .answer_digest
                    .add(&answer_line(op.infno, output));
            }
            "2206" | "2303" | "2207" | "2304" => {
                let settles = matches!(op.infno, "2207" | "2304");
                let s = parse_settlement(output).map_err(|e| self.violation(&op.line, e))?;
                let mut problems = check_identities(&s, Direction::Settlement);
                if s.amounts.medfee_sumamt != bill_fen {
                    problems.push(format!(
                        "medfee_sumamt {} fen, the bill is {bill_fen} fen",
                        s.amounts.medfee_sumamt
                    ));
                }
                if settles {
                    if s.medins_setl_id.as_deref() != Some(op.msgid.as_str()) {
                        problems.push(format!(
                            "medins_setl_id {:?} is not the msgid",
                            s.medins_setl_id
                        ));
                    }
                    if s.setl_id.as_deref().unwrap_or("").is_empty() {
                        problems.push("no setl_id".to_owned());
                    }
                }
                self.summary.check("answer identities", 1);
                if !problems.is_empty() {
                    return Err(self.violation(&op.line, problems.join("; ")));
                }
                self.summary
                    .answer_digest
                    .add(&answer_line(op.infno, output));
                if settles {
                    let net_fen = s.amounts.medfee_sumamt - s.amounts.hosp_part_amt;
                    let site = self.chains[c].site;
                    self.known.push(Known {
                        site,
                        patient: self.chains[c].patient,
                        msgid: op.msgid.clone(),
                        infno: op.infno,
                        psn_no: self.population.patients[self.chains[c].patient]
                            .psn_no
                            .clone(),
                        mdtrt_id: s.mdtrt_id.clone().unwrap_or_default(),
                        setl_id: s.setl_id.clone().unwrap_or_default(),
                        amounts: s.amounts,
                        net_fen,
                        reversed: false,
                    });
                    let k = self.known.len() - 1;
                    self.chains[c].settlement = Some(k);
                    self.n_settlements += 1;
                    *self.balances.entry(site).or_default() += net_fen;
                    touched.insert(k);
                }
            }
            "2208" | "2305" | "2601" => {
                let k = self.chains[c].settlement.expect("a seen settlement");
                if op.infno == "2601" {
                    self.summary
                        .answer_digest
                        .add(&answer_line(op.infno, output));
                    self.undo_settlement(k, touched);
                } else {
                    self.apply_reversal(op, k, output, touched)?;
                }
            }
            _ => self
                .summary
                .answer_digest
                .add(&answer_line(op.infno, output)),
        }
        Ok(())
    }

    /// The hospital revoked a message whose fate it did not know; the oracle knows.
    pub(super) fn apply_revoke_lost(
        &mut self,
        op: &Op,
        plan_idx: usize,
        touched: &mut BTreeSet<usize>,
    ) {
        let c = op.chain.expect("a chain operation");
        let msg = self.chains[c].msgs[plan_idx]
            .clone()
            .expect("a lost message was built");
        self.chains[c].pending = None;
        if !msg.executed {
            // Barred: it may still arrive, and must then be refused. The step is sent again
            // under a new msgid.
            self.chains[c].barred = Some(msg);
            self.chains[c].msgs[plan_idx] = None;
            self.chains[c].fee_round += 1;
            return;
        }
        match msg.infno {
            // The visit is cancelled: the chain ends.
            "2201" | "2401" => self.chains[c].done = true,
            // The fees are deleted: uploaded again under a new msgid and new line numbers.
            "2204" | "2301" => {
                self.chains[c].msgs[plan_idx] = None;
                self.chains[c].fee_round += 1;
            }
            // The settlement is reversed: settled again under a new msgid.
            _ => {
                let k = self.chains[c].settlement.expect("an executed settlement");
                self.undo_settlement(k, touched);
                self.chains[c].msgs[plan_idx] = None;
                self.chains[c].settlement = None;
            }
        }
    }

    /// A reversal's answer: the exact negation of settlement `k`, which is now undone.
    pub(super) fn apply_reversal(
        &mut self,
        op: &Op,
        k: usize,
        output: &str,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        let s = parse_settlement(output).map_err(|e| self.violation(&op.line, e))?;
        let mut problems = check_identities(&s, Direction::Reversal);
        problems.extend(check_negation(&self.known[k].amounts, &s.amounts));
        self.summary.check("answer identities", 1);
        if !problems.is_empty() {
            return Err(self.violation(&op.line, problems.join("; ")));
        }
        self.summary
            .answer_digest
            .add(&answer_line(op.infno, output));
        self.undo_settlement(k, touched);
        Ok(())
    }
}
