//! The pharmacies' stock on the national interface (3501 盘存, 3503 采购, 3505 销售): what a
//! retail pharmacy of the simulator reports around the drugs it sells, so that purchases, stock
//! and sales reconcile. Before a drug line is sold, the pharmacy holds a batch of it with enough
//! left, else it buys a new batch first (3503) and counts what is left of the old one, which it
//! no longer sells from (3501: a count at the close of the day, so the day's sales are in it);
//! every sale line is one 3505 record of its batch, settled through insurance (`setl_id`), with
//! one traceability code per pack sold (`drug_trac_codg`, unique across the run). The bookkeeping
//! here is pure; the driver sends the messages.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::amount::Num;

/// Units bought in one purchase (at least what the sale needs): a pharmacy's usual order of one
/// drug.
pub const PURCHASE_UNITS: i64 = 200;

/// Traceability codes on one sale line: one per whole pack, at most this many (a larger line is a
/// bulk sale whose packs are scanned by the case).
pub const TRACE_CODES_PER_LINE_MAX: i64 = 20;

/// The batch of a drug a pharmacy sells from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// 生产批号.
    pub manu_lotnum: String,
    /// The purchase's 定点医药机构批次流水号.
    pub fixmedins_bchno: String,
    /// Ten-thousandths of a unit left.
    pub left_e4: i64,
}

/// A purchase to report before a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restock {
    /// The drug.
    pub med_list_codg: String,
    /// The new batch.
    pub batch: Batch,
    /// What was bought, ten-thousandths of a unit.
    pub bought_e4: i64,
    /// The batch it replaces, with what is left of it (counted by a 3501 when not empty).
    pub replaced: Option<Batch>,
}

/// What every pharmacy of the run holds, by (institution, drug).
#[derive(Debug, Default)]
pub struct Stock {
    batches: HashMap<(String, String), Batch>,
    purchases: u64,
}

impl Stock {
    /// Takes `cnt_e4` of `med_list_codg` at `fixmedins_code` for a sale: the batch sold from,
    /// and the purchase to report first when the current batch has too little left (its
    /// leftover stays in the old batch, as on a real shelf).
    pub fn take(
        &mut self,
        fixmedins_code: &str,
        med_list_codg: &str,
        cnt_e4: i64,
        run_tag: &str,
    ) -> (Batch, Option<Restock>) {
        let key = (fixmedins_code.to_owned(), med_list_codg.to_owned());
        let short = self
            .batches
            .get(&key)
            .is_none_or(|batch| batch.left_e4 < cnt_e4);
        let restock = if short {
            self.purchases += 1;
            let bought_e4 = (PURCHASE_UNITS * 10_000).max(cnt_e4);
            let batch = Batch {
                manu_lotnum: format!("L{run_tag}{:05}", self.purchases),
                fixmedins_bchno: format!("CG{run_tag}{:07}", self.purchases),
                left_e4: bought_e4,
            };
            let replaced = self.batches.insert(key.clone(), batch.clone());
            Some(Restock {
                med_list_codg: med_list_codg.to_owned(),
                batch,
                bought_e4,
                replaced,
            })
        } else {
            None
        };
        let batch = self.batches.get_mut(&key).expect("held or just bought");
        batch.left_e4 -= cnt_e4;
        let sold_from = batch.clone();
        (sold_from, restock)
    }
}

/// The traceability codes of a line of `cnt_e4`: one per whole pack (at least one), each
/// `8` + the run's tag + a 7-digit serial.
pub fn trace_codes(
    cnt_e4: i64,
    run_tag: &str,
    next_serial: &mut dyn FnMut() -> u64,
) -> Vec<String> {
    let packs = ((cnt_e4 + 9_999) / 10_000).clamp(1, TRACE_CODES_PER_LINE_MAX);
    (0..packs)
        .map(|_| format!("8{run_tag}{:07}", next_serial() % 10_000_000))
        .collect()
}

/// A 3503 `purcinfo` for a restock received at `at`.
pub fn purchase_input(restock: &Restock, pric_micro: i64, at: &str) -> Value {
    json!({"purcinfo": {
        "med_list_codg": restock.med_list_codg,
        "fixmedins_hilist_id": format!("YP{}", restock.med_list_codg),
        "fixmedins_hilist_name": restock.med_list_codg,
        "fixmedins_bchno": restock.batch.fixmedins_bchno,
        "spler_name": "晋城医药有限公司",
        "manu_lotnum": restock.batch.manu_lotnum,
        "finl_trns_pric": Num::price(pric_micro),
        "purc_retn_cnt": Num::count(restock.bought_e4),
        "purc_invo_no": format!("FP{}", restock.batch.fixmedins_bchno),
        "rx_flag": "0",
        "purc_retn_stoin_time": at,
        "purc_retn_opter_name": "采购员",
    }})
}

/// A 3501 `invinfo` counting what is left of a replaced batch on `day` (`yyyy-MM-dd`); `None`
/// when nothing is left (a count is of something).
pub fn stocktake_input(restock: &Restock, day: &str) -> Option<Value> {
    let old = restock.replaced.as_ref().filter(|old| old.left_e4 > 0)?;
    Some(json!({"invinfo": {
        "med_list_codg": restock.med_list_codg,
        "fixmedins_hilist_id": format!("YP{}", restock.med_list_codg),
        "fixmedins_hilist_name": restock.med_list_codg,
        "fixmedins_bchno": old.fixmedins_bchno,
        "manu_lotnum": old.manu_lotnum,
        "rx_flag": "0",
        "invdate": day,
        "inv_cnt": Num::count(old.left_e4),
    }}))
}

/// One 3505 `selinfo` row: `cnt_e4` of the drug from `batch`, sold to `psn_no` and settled as
/// `setl_id`, at `at`.
#[allow(clippy::too_many_arguments)]
pub fn sale_row(
    med_list_codg: &str,
    batch: &Batch,
    fixmedins_bchno: &str,
    cnt_e4: i64,
    pric_micro: i64,
    psn_no: &str,
    setl_id: &str,
    at: &str,
    codes: &[String],
) -> Value {
    json!({
        "med_list_codg": med_list_codg,
        "fixmedins_hilist_id": format!("YP{med_list_codg}"),
        "fixmedins_hilist_name": med_list_codg,
        "fixmedins_bchno": fixmedins_bchno,
        "setl_id": setl_id,
        "psn_no": psn_no,
        "manu_lotnum": batch.manu_lotnum,
        "rx_flag": "0",
        "trdn_flag": "0",
        "finl_trns_pric": Num::price(pric_micro),
        "sel_retn_cnt": Num::count(cnt_e4),
        "sel_retn_time": at,
        "sel_retn_opter_name": "药师",
        "mdtrt_setl_type": "1",
        "drugtracinfo": codes.iter().map(|code| json!({"drug_trac_codg": code})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sale_is_bought_before_it_is_sold_and_the_batch_runs_down() {
        let mut stock = Stock::default();
        let (batch, restock) = stock.take("P1", "D1", 30_000, "T");
        let restock = restock.expect("nothing held: buy first");
        assert_eq!(restock.bought_e4, PURCHASE_UNITS * 10_000);
        assert_eq!(batch.left_e4, PURCHASE_UNITS * 10_000 - 30_000);
        assert_eq!(batch.manu_lotnum, restock.batch.manu_lotnum);
        // Enough left: no purchase.
        let (again, none) = stock.take("P1", "D1", 10_000, "T");
        assert!(none.is_none());
        assert_eq!(again.left_e4, PURCHASE_UNITS * 10_000 - 40_000);
        // Another pharmacy holds its own stock; a line larger than a usual order buys it all.
        let (_, other) = stock.take("P2", "D1", (PURCHASE_UNITS + 5) * 10_000, "T");
        let other = other.unwrap();
        assert_eq!(other.bought_e4, (PURCHASE_UNITS + 5) * 10_000);
        assert_ne!(other.batch.fixmedins_bchno, restock.batch.fixmedins_bchno);
        // Too little left: a new batch, the leftover stays in the old one.
        let (fresh, bought) = stock.take("P1", "D1", PURCHASE_UNITS * 10_000, "T");
        let bought = bought.unwrap();
        assert_ne!(fresh.manu_lotnum, batch.manu_lotnum);
        assert_eq!(fresh.left_e4, 0);
        let old = bought.replaced.clone().unwrap();
        assert_eq!(old.manu_lotnum, batch.manu_lotnum);
        assert_eq!(old.left_e4, PURCHASE_UNITS * 10_000 - 40_000);
        let count = stocktake_input(&bought, "2025-06-01").unwrap();
        assert_eq!(count["invinfo"]["inv_cnt"].to_string(), "196");
        assert_eq!(count["invinfo"]["manu_lotnum"], json!(batch.manu_lotnum));
        // The first batch of a drug replaces nothing: nothing to count.
        assert!(stocktake_input(&restock, "2025-06-01").is_none());
    }

    #[test]
    fn one_code_per_pack_each_distinct() {
        let mut serial = 0;
        let mut next = || {
            serial += 1;
            serial
        };
        let codes = trace_codes(25_000, "123456789012", &mut next);
        assert_eq!(codes.len(), 3);
        assert!(codes.iter().all(|c| c.len() == 20 && c.starts_with('8')));
        assert_eq!(codes[0], "81234567890120000001");
        assert_ne!(codes[0], codes[1]);
        assert_eq!(trace_codes(5_000, "123456789012", &mut next).len(), 1);
        assert_eq!(
            trace_codes(1_000_000, "123456789012", &mut next).len(),
            TRACE_CODES_PER_LINE_MAX as usize
        );
    }
}
