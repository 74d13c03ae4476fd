//! Planning a step: which chains move, what each sends, and which faults are injected.

use super::*;

impl Simulator {
    /// The operations of the next step, and whether the step is a solo reorder (checked for
    /// writing nothing).
    pub(super) fn plan_step(&mut self, remaining: usize) -> (Vec<Op>, bool) {
        while self.chains.len() < self.config.chains_max {
            self.start_chain();
        }
        if self.roll(self.config.faults.reorder) {
            if let Some(op) = self.reorder_op() {
                return (vec![op], true);
            }
        }
        let k = self
            .rng
            .random_range(1..=self.config.concurrency_max)
            .min(remaining)
            .max(1);
        let mut order: Vec<usize> = (0..self.chains.len()).collect();
        let mut ops = Vec::new();
        for i in 0..k.min(order.len()) {
            let j = self.rng.random_range(i..order.len());
            order.swap(i, j);
            let chain = order[i];
            ops.extend(self.chain_ops(chain));
        }
        if self.roll(self.config.faults.phantom_revoke) {
            ops.push(self.phantom_op());
        }
        if self.roll(self.config.faults.undo_old) {
            ops.extend(self.undo_old_op());
        }
        (ops, false)
    }

    pub(super) fn start_chain(&mut self) {
        let mut idx = self.rng.random_range(0..self.patients.len());
        while self.busy.contains(&self.patients[idx]) {
            idx = (idx + 1) % self.patients.len();
        }
        let patient = self.patients[idx];
        self.busy.insert(patient);
        let site = self.sites[self.rng.random_range(0..self.sites.len())];
        let inpatient = self.roll(self.config.inpatient_permille);
        self.next_seq += 1;
        let p = &self.population.patients[patient];
        let level = self.population.sites[site].hi_setl_lv;
        let (kind, lines) = if inpatient {
            (VisitKind::Inpatient, INPATIENT_LINES)
        } else {
            (VisitKind::Outpatient, OUTPATIENT_LINES)
        };
        let (age, chronic, has_account) = (p.age, p.chronic, p.has_account);
        let target = cost_target_fen(&mut self.rng, kind, level, age, chronic);
        let n_lines = self.rng.random_range(lines.0..=lines.1);
        let bill = build_bill(
            &mut self.rng,
            &self.population.items,
            &[ItemKind::Drug, ItemKind::Service, ItemKind::Consumable],
            n_lines,
            target,
        );
        let acct_used_flag = if has_account && self.rng.random_range(0..10) < 7 {
            "1"
        } else {
            "0"
        };
        let chain: &[&'static str] = if inpatient {
            &INPATIENT_CHAIN
        } else {
            &OUTPATIENT_CHAIN
        };
        let plan: Vec<Step> = chain.iter().map(|i| Step::Send(i)).collect();
        self.chains.push(Chain {
            patient,
            site,
            inpatient,
            seq: self.next_seq,
            msgs: vec![None; plan.len()],
            plan,
            at: 0,
            mdtrt_id: None,
            bill,
            fee_round: 0,
            acct_used_flag,
            pending: None,
            settlement: None,
            barred: None,
            done: false,
        });
    }

    pub(super) fn visit<'a>(&'a self, chain: &Chain) -> Visit<'a> {
        Visit {
            site: &self.population.sites[chain.site],
            patient: &self.population.patients[chain.patient],
            items: &self.population.items,
            seq: chain.seq,
            now: &self.now,
            inpatient: chain.inpatient,
        }
    }

    /// The message of plan step `plan_idx` of chain `c`, built on first use.
    pub(super) fn message(&mut self, c: usize, plan_idx: usize) -> Msg {
        if let Some(msg) = &self.chains[c].msgs[plan_idx] {
            return msg.clone();
        }
        let Step::Send(infno) = self.chains[c].plan[plan_idx] else {
            unreachable!("only Send steps have messages");
        };
        let msgid = self.msgid(self.chains[c].site);
        let chain = &self.chains[c];
        let visit = self.visit(chain);
        let mdtrt_id = chain.mdtrt_id.clone().unwrap_or_default();
        let input = match infno {
            // Undoing the chain's settlement, which the hospital saw.
            "2208" | "2305" => {
                let known = &self.known[chain.settlement.expect("a seen settlement")];
                visit.reversal_input(&known.mdtrt_id, &known.setl_id)
            }
            "2601" => {
                let known = &self.known[chain.settlement.expect("a seen settlement")];
                visit.revoke_input(&known.msgid, known.infno)
            }
            _ => visit.input(
                infno,
                &mdtrt_id,
                &chain.bill,
                chain.fee_round,
                chain.acct_used_flag,
            ),
        };
        let body = visit.envelope(infno, &msgid, input);
        let msg = Msg {
            infno,
            msgid,
            body,
            executed: false,
            output: None,
            in_doubt: false,
            crashed: false,
        };
        self.chains[c].msgs[plan_idx] = Some(msg.clone());
        msg
    }

    pub(super) fn op(
        &self,
        c: Option<usize>,
        site: usize,
        what: What,
        infno: &'static str,
        msgid: String,
        body: Bytes,
    ) -> Op {
        let psn_no = c
            .map(|c| {
                self.population.patients[self.chains[c].patient]
                    .psn_no
                    .as_str()
            })
            .unwrap_or("-");
        let line = format!(
            "{} {infno}{} {} {psn_no} {msgid}",
            self.step,
            what.name(),
            self.population.sites[site].fixmedins_code
        );
        Op {
            chain: c,
            what,
            site,
            infno,
            msgid,
            body,
            deliver: true,
            show: true,
            twin: false,
            line,
        }
    }

    /// The next operations of chain `c` (two for a duplicate delivery).
    pub(super) fn chain_ops(&mut self, c: usize) -> Vec<Op> {
        let faults = self.config.faults.clone();
        let site = self.chains[c].site;
        // A message revoked before it arrived may arrive now.
        if self.chains[c].pending.is_none() && self.chains[c].barred.is_some() && self.roll(500) {
            let msg = self.chains[c].barred.take().expect("checked");
            self.summary.fault("late delivery");
            return vec![self.op(Some(c), site, What::Late, msg.infno, msg.msgid, msg.body)];
        }
        if let Some(lost) = self.chains[c].pending {
            let plan_idx = self.chains[c].at;
            let msg = self.chains[c].msgs[plan_idx]
                .clone()
                .expect("a lost message was built");
            // A message the server crashed under is retried, never revoked: what the 2601 would
            // undo could be in doubt. The choice rests on what the hospital knows only, so that
            // the same seed sends the same messages whatever the crash cut off.
            if !msg.crashed && REVOCABLE.contains(&msg.infno) && self.roll(faults.revoke_lost) {
                let msgid = self.msgid(site);
                let visit = self.visit(&self.chains[c]);
                let input = visit.revoke_input(&msg.msgid, msg.infno);
                let body = visit.envelope("2601", &msgid, input);
                self.summary.fault(match lost {
                    Lost::Request => "revoke of a lost request",
                    Lost::Answer => "revoke of a lost answer",
                });
                return vec![self.op(
                    Some(c),
                    site,
                    What::RevokeLost { plan_idx },
                    "2601",
                    msgid,
                    body,
                )];
            }
            self.summary.fault("retry");
            return self.send_ops(c, plan_idx, msg);
        }
        let plan_idx = self.chains[c].at;
        match self.chains[c].plan[plan_idx] {
            Step::Send(_) => {
                let msg = self.message(c, plan_idx);
                self.send_ops(c, plan_idx, msg)
            }
            Step::Conflict => {
                let settle_idx = self.settle_idx(c);
                let msg = self.chains[c].msgs[settle_idx].clone().expect("settled");
                self.summary.fault("conflict");
                let body = with_other_content(&msg.body);
                vec![self.op(Some(c), site, What::Conflict, msg.infno, msg.msgid, body)]
            }
            Step::UndoAgain => {
                // Undone once, by a reversal or a 2601: a second undo of either kind is refused.
                let settle_idx = self.settle_idx(c);
                let settle = self.chains[c].msgs[settle_idx].clone().expect("settled");
                let known = &self.known[self.chains[c].settlement.expect("settled")];
                let undo = if self.rng.random_range(0..2) == 0 {
                    Undo::Reversal {
                        setl_id: known.setl_id.clone(),
                        mdtrt_id: known.mdtrt_id.clone(),
                    }
                } else {
                    Undo::Revoke {
                        msgid: settle.msgid,
                        infno: settle.infno,
                    }
                };
                let msgid = self.msgid(site);
                self.summary.fault("undo again");
                let visit = self.visit(&self.chains[c]);
                let (infno, input) = match &undo {
                    Undo::Reversal { setl_id, mdtrt_id } => (
                        if self.chains[c].inpatient {
                            "2305"
                        } else {
                            "2208"
                        },
                        visit.reversal_input(mdtrt_id, setl_id),
                    ),
                    Undo::Revoke { msgid, infno } => ("2601", visit.revoke_input(msgid, infno)),
                };
                let body = visit.envelope(infno, &msgid, input);
                vec![self.op(Some(c), site, What::UndoAgain, infno, msgid, body)]
            }
        }
    }

    /// A chain message, perhaps lost on the way there or back, perhaps delivered twice.
    pub(super) fn send_ops(&mut self, c: usize, plan_idx: usize, msg: Msg) -> Vec<Op> {
        let faults = self.config.faults.clone();
        let site = self.chains[c].site;
        let mut op = self.op(
            Some(c),
            site,
            What::Step { plan_idx },
            msg.infno,
            msg.msgid,
            msg.body,
        );
        if self.roll(faults.lost_request) {
            self.summary.fault("lost request");
            op.deliver = false;
            op.show = false;
            op.line.push_str(" [request lost]");
            return vec![op];
        }
        if self.roll(faults.lost_answer) {
            self.summary.fault("lost answer");
            op.show = false;
            op.line.push_str(" [answer lost]");
        }
        if self.roll(faults.duplicate) {
            self.summary.fault("duplicate");
            let mut twin = op.clone();
            twin.show = false;
            twin.twin = true;
            twin.line.push_str(" [duplicate]");
            return vec![op, twin];
        }
        vec![op]
    }

    pub(super) fn settle_idx(&self, c: usize) -> usize {
        let chain = &self.chains[c];
        chain
            .plan
            .iter()
            .position(|s| matches!(s, Step::Send("2207" | "2304")))
            .expect("every chain settles")
    }

    /// A settlement sent before the fee upload of a chain that is about to upload its fees.
    pub(super) fn reorder_op(&mut self) -> Option<Op> {
        let c = (0..self.chains.len()).find(|&c| {
            let chain = &self.chains[c];
            chain.pending.is_none()
                && chain.barred.is_none()
                && matches!(chain.plan[chain.at], Step::Send("2204" | "2301"))
        })?;
        let settle_idx = self.settle_idx(c);
        let msg = self.message(c, settle_idx);
        self.summary.fault("reorder");
        let site = self.chains[c].site;
        Some(self.op(
            Some(c),
            site,
            What::Reorder {
                plan_idx: settle_idx,
            },
            msg.infno,
            msg.msgid,
            msg.body,
        ))
    }

    /// A 2601 of a message id no one sent.
    pub(super) fn phantom_op(&mut self) -> Op {
        self.summary.fault("phantom revoke");
        let site = self.sites[self.rng.random_range(0..self.sites.len())];
        let patient = self.patients[self.rng.random_range(0..self.patients.len())];
        let oinfno = REVOCABLE[self.rng.random_range(0..REVOCABLE.len())];
        let never = self.msgid(site);
        let msgid = self.msgid(site);
        let visit = Visit {
            site: &self.population.sites[site],
            patient: &self.population.patients[patient],
            items: &self.population.items,
            seq: 0,
            now: &self.now,
            inpatient: false,
        };
        let body = visit.envelope("2601", &msgid, visit.revoke_input(&never, oinfno));
        let mut op = self.op(None, site, What::Phantom, "2601", msgid, body);
        op.line.push_str(&format!(
            " omsgid {never} ({oinfno}, {})",
            visit.patient.psn_no
        ));
        op
    }

    /// A reversal or a 2601 of a random earlier outpatient settlement that still stands, of a
    /// person with no chain under way (so that nothing of theirs runs at the same time).
    pub(super) fn undo_old_op(&mut self) -> Option<Op> {
        if self.seen.is_empty() {
            return None;
        }
        let start = self.rng.random_range(0..self.seen.len());
        let revoke = self.rng.random_range(0..2) == 0;
        let busy: HashSet<usize> = self.chains.iter().map(|c| c.patient).collect();
        let k = (0..self.seen.len().min(UNDO_OLD_TRIES_MAX))
            .map(|i| self.seen[(start + i) % self.seen.len()])
            .find(|&k| {
                let known = &self.known[k];
                !known.reversed && known.infno == "2207" && !busy.contains(&known.patient)
            })?;
        self.summary.fault("undo of an old settlement");
        let known = self.known[k].clone();
        let msgid = self.msgid(known.site);
        let visit = Visit {
            site: &self.population.sites[known.site],
            patient: &self.population.patients[known.patient],
            items: &self.population.items,
            seq: 0,
            now: &self.now,
            inpatient: false,
        };
        let (infno, input) = if revoke {
            ("2601", visit.revoke_input(&known.msgid, known.infno))
        } else {
            (
                "2208",
                visit.reversal_input(&known.mdtrt_id, &known.setl_id),
            )
        };
        let body = visit.envelope(infno, &msgid, input);
        let mut op = self.op(
            None,
            known.site,
            What::UndoOld { k, revoke },
            infno,
            msgid,
            body,
        );
        op.line
            .push_str(&format!(" {} settled by {}", known.psn_no, known.msgid));
        Some(op)
    }
}
