//! Sending a step's messages together, and crashing the process with them in flight.

use super::*;

impl Simulator {
    /// Starts every delivered operation of a step on its own task.
    pub(super) fn spawn_calls(&mut self, ops: &[Op]) -> Vec<Option<CallHandle>> {
        let mut calls = Vec::with_capacity(ops.len());
        for op in ops {
            let kind = if op.deliver {
                format!("{}{}", op.infno, op.what.name())
            } else {
                format!("{} (lost)", op.infno)
            };
            self.summary.op(kind, &op.line, self.config.keep_log);
            calls.push(op.deliver.then(|| {
                tokio::spawn(self.system().call(
                    &self.population.sites[op.site],
                    op.infno,
                    op.body.clone(),
                ))
            }));
        }
        calls
    }

    /// Sends a step's operations and waits for their answers. When `crash` is asked for, the
    /// step's crash trigger is armed and pulled after a few turns of the scheduler (drawn from
    /// the seed; what the requests reach by then is up to the machine) or left to the store's
    /// crash point inside its first batch; whoever pulls an armed
    /// trigger (this, or a crash point in the store), the process crashes at once — the store
    /// is closed, transactions under way finish, the calls still waiting for it fail — and is
    /// reopened. Returns each call's answer (or why none came) and whether the process crashed.
    pub(super) async fn send_step(
        &mut self,
        ops: &[Op],
        crash: bool,
    ) -> Result<(Vec<Option<Result<Reply, String>>>, bool), SimError> {
        let trigger = self.system().crash_trigger();
        let crashable = ops.iter().all(|op| matches!(op.what, What::Step { .. }));
        // Armed only for a step that is to crash: the store's crash points pull it too, and
        // would otherwise crash every step at its first batch.
        if crashable && crash {
            trigger.arm();
        }
        // A third of the crashes come before any call has run (every call is cut off), a third
        // after a few turns (calls anywhere from waiting to committing), and a third are left
        // to the store's crash point inside its first batch of the step (before or after that
        // batch's commit; see `System`).
        let pull_after = match crash {
            false => None,
            true => match self.rng.random_range(0..3) {
                0 => Some(0),
                1 => Some(self.rng.random_range(1..=CRASH_TURNS_MAX)),
                _ => None,
            },
        };
        let mut calls = self.spawn_calls(ops);
        if let Some(turns) = pull_after {
            for _ in 0..turns {
                tokio::task::yield_now().await;
            }
            trigger.pull();
        }
        let mut crashed = false;
        let mut replies = Vec::with_capacity(ops.len());
        for call in calls.iter_mut() {
            let Some(handle) = call else {
                replies.push(None);
                continue;
            };
            let joined = if crashed || !crashable {
                handle.await
            } else {
                tokio::select! {
                    joined = &mut *handle => joined,
                    () = trigger.pulled() => {
                        crashed = true;
                        self.crash_now().await?;
                        handle.await
                    }
                }
            };
            replies.push(Some(
                joined.unwrap_or_else(|e| Err(format!("the call panicked: {e}"))),
            ));
        }
        if trigger.disarm() && !crashed {
            // Pulled after the last answer came: the process dies all the same.
            crashed = true;
            self.crash_now().await?;
        }
        Ok((replies, crashed))
    }

    /// Crashes the process in the middle of a step.
    pub(super) async fn crash_now(&mut self) -> Checked {
        self.summary.crashes += 1;
        self.summary.fault("crash in flight");
        let line = format!("{} crash in flight", self.step);
        self.summary.line(&line, self.config.keep_log);
        self.system
            .as_mut()
            .expect("the system is open until finish")
            .crash()
            .await
    }

    /// Applies an answer of a step the process crashed in: the hospital sees none of them; an
    /// answer that came is known to the oracle, a failed call leaves its message in doubt.
    pub(super) fn apply_crashed(
        &mut self,
        op: &Op,
        reply: Option<Result<Reply, String>>,
        touched: &mut BTreeSet<usize>,
    ) -> Checked {
        // Which calls the crash cut off depends on the machine: the digest takes none of it.
        self.summary.answer_digest.add("crashed");
        let mut hidden = op.clone();
        hidden.show = false;
        if let (Some(c), What::Step { plan_idx }) = (op.chain, op.what) {
            if let Some(msg) = self.chains[c].msgs[plan_idx].as_mut() {
                msg.crashed = true;
            }
        }
        let digest = std::mem::take(&mut self.summary.answer_digest);
        let result = match reply {
            None => self.apply(&hidden, None, touched),
            Some(Ok(reply)) if reply.status == 200 => {
                *self.summary.in_flight.entry("answered").or_default() += 1;
                self.apply(&hidden, Some(reply), touched)
            }
            Some(_) => {
                *self.summary.in_flight.entry("cut off").or_default() += 1;
                let c = op.chain.expect("a chain operation");
                let What::Step { plan_idx } = op.what else {
                    unreachable!("only chain messages are sent in a crashing step")
                };
                let msg = self.chains[c].msgs[plan_idx].as_mut().expect("built");
                if !msg.executed {
                    msg.in_doubt = true;
                }
                if self.chains[c].pending.is_none() {
                    self.chains[c].pending = Some(Lost::Answer);
                }
                Ok(())
            }
        };
        self.summary.answer_digest = digest;
        result
    }
}
