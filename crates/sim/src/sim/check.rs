//! The invariants checked after a step, after a crash and at the end of a run.

use super::*;

impl Simulator {
    pub(super) async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>, SimError> {
        self.system()
            .store()
            .row_counts()
            .await
            .map_err(|e| self.violation("row counts", format!("the store failed: {e}")))
    }

    /// The invariants: the ledger (and the accumulators) check, the number of settlements and
    /// reversals, each institution's balance, and the settlements the step touched plus a
    /// sample of the others read back through 5203; after a crash also every institution and
    /// the settlements made since the last crash, at the end every settlement.
    pub(super) async fn check(&mut self, touched: &BTreeSet<usize>, scope: Scope) -> Checked {
        let started = Instant::now();
        let result = self.check_inner(touched, scope).await;
        self.summary.checking += started.elapsed();
        result
    }

    pub(super) async fn check_inner(&mut self, touched: &BTreeSet<usize>, scope: Scope) -> Checked {
        let store = self.system().store().clone();
        let report = store
            .check_ledger()
            .await
            .map_err(|e| self.violation("check_ledger", format!("the store failed: {e}")))?;
        self.summary.check("ledger", 1);
        if !report.is_balanced() {
            return Err(self.violation("check_ledger", report.problems.join("; ")));
        }
        // Settlements and undoings sent when the process crashed may or may not have happened
        // until the hospital's retry tells: the counts allow them, and the institutions and
        // settlements they touch wait for the retry.
        let (mut n_doubt_settled, mut n_doubt_undone) = (0_i64, 0_i64);
        let mut in_doubt: Vec<usize> = Vec::new();
        let mut undo_in_doubt: BTreeSet<usize> = BTreeSet::new();
        for chain in &self.chains {
            for m in chain.msgs.iter().flatten().filter(|m| m.in_doubt) {
                match m.infno {
                    "2207" | "2304" => n_doubt_settled += 1,
                    "2208" | "2305" | "2601" => {
                        n_doubt_undone += 1;
                        undo_in_doubt.extend(chain.settlement);
                    }
                    _ => continue,
                }
                in_doubt.push(chain.site);
            }
        }
        let settlements_ok = (self.n_settlements..=self.n_settlements + n_doubt_settled)
            .contains(&report.n_settlements);
        let reversals_ok =
            (self.n_reversals..=self.n_reversals + n_doubt_undone).contains(&report.n_reversals);
        if !settlements_ok || !reversals_ok {
            return Err(self.violation(
                "settlement count",
                format!(
                    "the ledger holds {} settlements and {} reversals; {} (and {n_doubt_settled} in doubt) and {} (and {n_doubt_undone} in doubt) were committed",
                    report.n_settlements,
                    report.n_reversals,
                    self.n_settlements,
                    self.n_reversals
                ),
            ));
        }
        let sites: BTreeSet<usize> = if scope != Scope::Step {
            self.balances.keys().copied().collect()
        } else {
            touched.iter().map(|&k| self.known[k].site).collect()
        };
        for site in sites.into_iter().filter(|site| !in_doubt.contains(site)) {
            let code = self.population.sites[site].fixmedins_code.clone();
            let balance = store
                .account_balance(&institution_account(&code))
                .await
                .map_err(|e| self.violation("balance", format!("the store failed: {e}")))?
                .unwrap_or(0);
            self.summary.check("institution balance", 1);
            let expected = self.balances.get(&site).copied().unwrap_or(0);
            if balance != expected {
                return Err(self.violation(
                    "institution balance",
                    format!("{code} holds {balance} fen; its settlements add up to {expected} fen"),
                ));
            }
        }
        let mut reread: BTreeSet<usize> = touched.clone();
        if scope == Scope::All {
            reread.extend(0..self.known.len());
        } else if scope == Scope::Crash {
            // What was settled since the last crash (the newest first, bounded), then a sample.
            let since = self
                .reread_from
                .max(self.known.len().saturating_sub(CRASH_REREADS_MAX));
            reread.extend(since..self.known.len());
            self.reread_from = self.known.len();
        }
        if scope != Scope::All && !self.known.is_empty() {
            for _ in 0..self.config.sample_checks {
                reread.insert(self.check_rng.random_range(0..self.known.len()));
            }
        }
        for k in reread.difference(&undo_in_doubt) {
            self.reread(*k).await?;
        }
        Ok(())
    }

    /// Reads settlement `k` back through 5203: the same amounts the 2207/2304 answered, and the
    /// reversal state the hospital was told.
    pub(super) async fn reread(&mut self, k: usize) -> Checked {
        let known = self.known[k].clone();
        self.next_query += 1;
        let msgid = msgid_of(
            &self.population.sites[known.site].fixmedins_code,
            "Q",
            self.next_query,
        );
        let site = &self.population.sites[known.site];
        let patient = &self.population.patients[known.patient];
        let visit = Visit {
            site,
            patient,
            items: &self.population.items,
            seq: 0,
            now: &self.now,
            inpatient: false,
        };
        let body = visit.envelope(
            "5203",
            &msgid,
            visit.reversal_input(&known.mdtrt_id, &known.setl_id),
        );
        let what = format!("5203 of settlement {} ({})", known.setl_id, known.psn_no);
        let reply = self
            .system()
            .call(site, "5203", body)
            .await
            .map_err(|e| self.violation(&what, e))?;
        self.summary.check("5203 reread", 1);
        let Some(output) = self.read(&what, &reply)? else {
            let msg = Answer::parse(&reply.body)
                .ok()
                .and_then(|a| a.err_msg)
                .unwrap_or_default();
            return Err(self.violation(&what, format!("the settlement is gone: {msg}")));
        };
        let s = parse_settlement(&output).map_err(|e| self.violation(&what, e))?;
        if s.amounts != known.amounts {
            return Err(self.violation(
                &what,
                format!(
                    "amounts changed: answered {:?}, now {:?}",
                    known.amounts, s.amounts
                ),
            ));
        }
        let refunded = serde_json::from_str::<Value>(&output)
            .ok()
            .and_then(|v| v["setlinfo"]["refd_setl_flag"].as_str().map(|f| f == "1"))
            .unwrap_or(false);
        if refunded != known.reversed {
            return Err(self.violation(
                &what,
                format!(
                    "refd_setl_flag says reversed = {refunded}, the hospital was told {}",
                    known.reversed
                ),
            ));
        }
        Ok(())
    }
}
