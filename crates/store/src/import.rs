//! Reading and checking the registry files of `docs/REGISTRY-FILES.md`. Everything is parsed
//! and checked in memory first; only a clean set is written (in one transaction, by `tx/import.rs`).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;

use crate::error::{ImportError, ImportIssue};
use crate::limits;

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Persons.
    pub persons: usize,
    /// Insurance relations.
    pub insurance_relations: usize,
    /// Identity categories.
    pub identities: usize,
    /// Personal accounts.
    pub accounts: usize,
    /// Family bindings.
    pub family_bindings: usize,
    /// Institutions.
    pub institutions: usize,
    /// Cross-region filings.
    pub filings: usize,
    /// E-voucher tokens (`ec_tokens.csv`).
    pub ec_tokens: usize,
    /// Social security cards (`ss_cards.csv`).
    pub ss_cards: usize,
    /// Chronic disease recognitions (`chronic_recognitions.csv`).
    pub chronic_recognitions: usize,
    /// Policy files.
    pub policies: usize,
    /// Ledger accounts opened (funds, institutions, personal accounts, cash).
    pub ledger_accounts: usize,
}

pub(crate) struct PersonRow {
    pub(crate) psn_no: String,
    pub(crate) certno: String,
    pub(crate) psn_name: String,
    pub(crate) gend: String,
    pub(crate) brdy: String,
    pub(crate) naty: String,
    pub(crate) tel: String,
}

pub(crate) struct InsuranceRow {
    pub(crate) psn_no: String,
    pub(crate) insutype: String,
    pub(crate) psn_type: String,
    pub(crate) insuplc_admdvs: String,
    pub(crate) emp_name: String,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
    pub(crate) psn_insu_stas: String,
}

pub(crate) struct IdentityRow {
    pub(crate) psn_no: String,
    pub(crate) sp_psn_type: String,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
    pub(crate) source_dept: String,
}

pub(crate) struct BindingRow {
    pub(crate) psn_no: String,
    pub(crate) family_psn_no: String,
    pub(crate) bind_order: i64,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
}

pub(crate) struct InstitutionRow {
    pub(crate) fixmedins_code: String,
    pub(crate) fixmedins_name: String,
    pub(crate) fixmedins_type: String,
    pub(crate) hosp_lv: String,
    pub(crate) hi_setl_lv: String,
    pub(crate) admdvs: String,
    pub(crate) status: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
}

pub(crate) struct FilingRow {
    pub(crate) trt_dcla_detl_sn: String,
    pub(crate) psn_no: String,
    pub(crate) dcla_type: String,
    pub(crate) insuplc_admdvs: String,
    pub(crate) mdtrtarea_admvs: String,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
}

pub(crate) struct EcTokenRow {
    /// The token as read; emptied once indexed ([`Parsed::index_tokens`]).
    pub(crate) ec_token: String,
    /// The token's blind index, what is stored (`sealing::token_index`).
    pub(crate) token_index: String,
    pub(crate) psn_no: String,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
}

pub(crate) struct SsCardRow {
    pub(crate) card_no: String,
    pub(crate) card_sn: String,
    pub(crate) psn_no: String,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
}

pub(crate) struct ChronicRow {
    pub(crate) psn_no: String,
    pub(crate) opsp_dise_code: String,
    pub(crate) opsp_dise_name: String,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
    pub(crate) fixmedins_code: String,
}

/// A contribution tier (缴费档次) of a person's insurance type over a period.
pub(crate) struct TierRow {
    pub(crate) psn_no: String,
    pub(crate) insutype: String,
    pub(crate) clct_tier: String,
    pub(crate) begndate: String,
    pub(crate) enddate: String,
}

/// One kind of an institution (`tcm`, `village` …) a policy's conditions may name.
pub(crate) struct InstitutionKindRow {
    pub(crate) fixmedins_code: String,
    pub(crate) kind: String,
}

/// The columns of `ytd_openings.csv`, which are also those of the `ytd_opening` table.
pub(crate) const YTD_OPENING_COLUMNS: &[&str] = &[
    "psn_no",
    "year",
    "inpatient_admissions",
    "hifp_inpatient",
    "hifp_outpatient",
    "outpatient_deductible",
    "hifmi_base",
];

/// A person's accumulators brought in at the start (`ytd_openings.csv`), in fen.
pub(crate) struct OpeningRow {
    pub(crate) psn_no: String,
    pub(crate) year: i64,
    pub(crate) inpatient_admissions: i64,
    pub(crate) hifp_inpatient: i64,
    pub(crate) hifp_outpatient: i64,
    pub(crate) outpatient_deductible: i64,
    pub(crate) hifmi_base: i64,
}

/// A registry folder, parsed and checked.
pub(crate) struct Parsed {
    pub(crate) persons: Vec<PersonRow>,
    pub(crate) insurance: Vec<InsuranceRow>,
    pub(crate) identities: Vec<IdentityRow>,
    pub(crate) accounts: Vec<(String, i64)>,
    pub(crate) bindings: Vec<BindingRow>,
    pub(crate) institutions: Vec<InstitutionRow>,
    pub(crate) filings: Vec<FilingRow>,
    pub(crate) ec_tokens: Vec<EcTokenRow>,
    pub(crate) ss_cards: Vec<SsCardRow>,
    pub(crate) chronic: Vec<ChronicRow>,
    pub(crate) tiers: Vec<TierRow>,
    pub(crate) openings: Vec<OpeningRow>,
    pub(crate) institution_kinds: Vec<InstitutionKindRow>,
    pub(crate) catalogue: String,
    pub(crate) policies: Vec<(String, String)>,
}

impl Parsed {
    /// Replaces each e-voucher token by its blind index under `keyring`: the token itself is
    /// never written (docs/PRIVACY.md, "Encryption at rest").
    pub(crate) fn index_tokens(&mut self, keyring: &crate::sealing::Keyring) {
        for row in &mut self.ec_tokens {
            row.token_index = crate::sealing::token_index(keyring, &row.ec_token);
            row.ec_token.clear();
        }
    }

    /// The documents kept verbatim: (kind, name, body).
    pub(crate) fn documents(&self) -> Vec<(String, String, String)> {
        let mut docs = vec![(
            "catalogue".to_string(),
            "catalogue.csv".to_string(),
            self.catalogue.clone(),
        )];
        for (name, body) in &self.policies {
            docs.push(("policy".to_string(), name.clone(), body.clone()));
        }
        docs
    }
}

struct Issues(Vec<ImportIssue>);

impl Issues {
    fn push(&mut self, file: &str, line: u64, column: &str, reason: impl Into<String>) {
        if self.0.len() < limits::IMPORT_ISSUES_MAX {
            self.0.push(ImportIssue {
                file: file.to_string(),
                line,
                column: column.to_string(),
                reason: reason.into(),
            });
        }
    }
}

/// One CSV row with its line number and column lookup by name.
struct Row<'a> {
    file: &'a str,
    line: u64,
    headers: &'a HashMap<String, usize>,
    record: csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        self.headers
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    fn text(&self, issues: &mut Issues, column: &str, required: bool, max_chars: usize) -> String {
        let v = self.get(column);
        if required && v.is_empty() {
            issues.push(self.file, self.line, column, "is empty");
        } else if v.chars().count() > max_chars {
            issues.push(
                self.file,
                self.line,
                column,
                format!("is longer than {max_chars} characters"),
            );
        }
        v.to_string()
    }

    fn one_of(&self, issues: &mut Issues, column: &str, allowed: &[&str]) -> String {
        let v = self.get(column);
        if !allowed.contains(&v) {
            issues.push(
                self.file,
                self.line,
                column,
                format!("{v:?} is not one of {allowed:?}"),
            );
        }
        v.to_string()
    }

    fn digits(&self, issues: &mut Issues, column: &str, len: usize) -> String {
        let v = self.get(column);
        if v.len() != len || !v.bytes().all(|b| b.is_ascii_digit()) {
            issues.push(
                self.file,
                self.line,
                column,
                format!("{v:?} is not {len} digits"),
            );
        }
        v.to_string()
    }

    fn date(&self, issues: &mut Issues, column: &str, required: bool) -> String {
        let v = self.get(column);
        if v.is_empty() {
            if required {
                issues.push(self.file, self.line, column, "is empty");
            }
            return String::new();
        }
        if NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() || v.len() != 10 {
            issues.push(
                self.file,
                self.line,
                column,
                format!("{v:?} is not a date yyyy-MM-dd"),
            );
        }
        v.to_string()
    }

    fn period(&self, issues: &mut Issues) -> (String, String) {
        let begin = self.date(issues, "begndate", true);
        let end = self.date(issues, "enddate", false);
        if !begin.is_empty() && !end.is_empty() && end < begin {
            issues.push(self.file, self.line, "enddate", "is before begndate");
        }
        (begin, end)
    }
}

/// Parses a yuan amount with at most two decimals into fen.
pub(crate) fn parse_yuan_fen(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{text:?} is not an amount in yuan"));
    }
    if frac.len() > 2 {
        return Err(format!("{text:?} has more than two decimals"));
    }
    if int.len() > 15 {
        return Err(format!("{text:?} is too large"));
    }
    let yuan: i64 = int
        .parse()
        .map_err(|_| format!("{text:?} is not an amount in yuan"))?;
    let mut cents: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse()
            .map_err(|_| format!("{text:?} is not an amount"))?
    };
    if frac.len() == 1 {
        cents *= 10;
    }
    let fen = yuan * 100 + cents;
    Ok(if neg { -fen } else { fen })
}

fn read_file(dir: &Path, name: &str) -> Result<String, ImportError> {
    std::fs::read_to_string(dir.join(name)).map_err(|source| ImportError::Io {
        file: name.to_string(),
        source,
    })
}

/// Like [`read_csv`] for a file a registry may leave out: a missing file has no rows.
fn read_optional_csv(
    dir: &Path,
    name: &str,
    columns: &[&str],
    issues: &mut Issues,
    each: impl FnMut(&Row<'_>, &mut Issues),
) -> Result<(), ImportError> {
    if !dir.join(name).exists() {
        return Ok(());
    }
    read_csv(dir, name, columns, issues, each)
}

/// Reads `name` as CSV with exactly the `columns`, calling `each` per row.
fn read_csv(
    dir: &Path,
    name: &str,
    columns: &[&str],
    issues: &mut Issues,
    mut each: impl FnMut(&Row<'_>, &mut Issues),
) -> Result<(), ImportError> {
    let text = read_file(dir, name)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            issues.push(name, 1, "", format!("unreadable header: {e}"));
            return Ok(());
        }
    };
    let mut headers = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        if !columns.contains(&h) {
            issues.push(name, 1, h, "unknown column");
        } else if headers.insert(h.to_string(), i).is_some() {
            issues.push(name, 1, h, "column appears twice");
        }
    }
    for c in columns {
        if !headers.contains_key(*c) {
            issues.push(name, 1, c, "missing column");
        }
    }
    if headers.len() != columns.len() {
        return Ok(());
    }
    for (n, record) in reader.records().enumerate() {
        if n >= limits::REGISTRY_ROWS_PER_FILE_MAX {
            issues.push(
                name,
                0,
                "",
                format!("more than {} rows", limits::REGISTRY_ROWS_PER_FILE_MAX),
            );
            break;
        }
        match record {
            Ok(record) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                let row = Row {
                    file: name,
                    line,
                    headers: &headers,
                    record,
                };
                each(&row, issues);
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                issues.push(name, line, "", format!("malformed CSV row: {e}"));
            }
        }
    }
    Ok(())
}

/// Adds `period` to the periods already held for one key and says whether it overlaps one of
/// them (two cards, tiers, recognitions or relations in force at the same date).
fn claim_period(held: &mut Vec<(String, String)>, period: (String, String)) -> bool {
    let overlapping = held.iter().any(|p| overlaps(p, &period));
    held.push(period);
    overlapping
}

fn overlaps(a: &(String, String), b: &(String, String)) -> bool {
    // Open end = "" = far future; ISO dates compare as text.
    let a_end = if a.1.is_empty() {
        "9999-12-31"
    } else {
        a.1.as_str()
    };
    let b_end = if b.1.is_empty() {
        "9999-12-31"
    } else {
        b.1.as_str()
    };
    a.0.as_str() <= b_end && b.0.as_str() <= a_end
}

fn is_certno(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 18
        && b[..17].iter().all(|c| c.is_ascii_digit())
        && (b[17].is_ascii_digit() || b[17] == b'X')
}

/// Reads and checks every file of a registry folder.
pub(crate) fn read_dir(dir: &Path) -> Result<Parsed, ImportError> {
    let mut issues = Issues(Vec::new());
    let id = limits::ID_CHARS_MAX;

    // persons.csv
    let mut persons = Vec::new();
    let mut psn_nos = HashSet::new();
    let mut certnos = HashSet::new();
    read_csv(
        dir,
        "persons.csv",
        &[
            "psn_no", "certno", "psn_name", "gend", "brdy", "naty", "tel",
        ],
        &mut issues,
        |r, is| {
            let psn_no = r.text(is, "psn_no", true, id);
            let certno = r.get("certno").to_string();
            if !is_certno(&certno) {
                is.push(
                    r.file,
                    r.line,
                    "certno",
                    format!("{certno:?} is not an 18-character resident id"),
                );
            }
            if !psn_no.is_empty() && !psn_nos.insert(psn_no.clone()) {
                is.push(r.file, r.line, "psn_no", format!("{psn_no} appears twice"));
            }
            if is_certno(&certno) && !certnos.insert(certno.clone()) {
                is.push(r.file, r.line, "certno", format!("{certno} appears twice"));
            }
            persons.push(PersonRow {
                psn_no,
                certno,
                psn_name: r.text(is, "psn_name", true, 50),
                gend: r.one_of(is, "gend", &["1", "2"]),
                brdy: r.date(is, "brdy", true),
                naty: r.text(is, "naty", false, 3),
                tel: r.text(is, "tel", false, 50),
            });
        },
    )?;

    let known = |is: &mut Issues, r: &Row<'_>, column: &str, psn_nos: &HashSet<String>| -> String {
        let v = r.get(column).to_string();
        if !psn_nos.contains(&v) {
            is.push(
                r.file,
                r.line,
                column,
                format!("{v:?} is not in persons.csv"),
            );
        }
        v
    };

    // insurance.csv
    let mut insurance = Vec::new();
    read_csv(
        dir,
        "insurance.csv",
        &[
            "psn_no",
            "insutype",
            "psn_type",
            "insuplc_admdvs",
            "emp_name",
            "begndate",
            "enddate",
            "psn_insu_stas",
        ],
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let insutype = r.one_of(is, "insutype", &["310", "390"]);
            let psn_type = r.digits(is, "psn_type", 4);
            let insuplc_admdvs = r.digits(is, "insuplc_admdvs", 6);
            let emp_name = r.text(is, "emp_name", false, 200);
            let (begndate, enddate) = r.period(is);
            let psn_insu_stas = r.one_of(is, "psn_insu_stas", &["1", "2", "4"]);
            insurance.push((
                r.line,
                InsuranceRow {
                    psn_no,
                    insutype,
                    psn_type,
                    insuplc_admdvs,
                    emp_name,
                    begndate,
                    enddate,
                    psn_insu_stas,
                },
            ));
        },
    )?;
    let mut active: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    let mut employees = HashSet::new();
    for (line, rel) in &insurance {
        if rel.insutype == "310" {
            employees.insert(rel.psn_no.clone());
        }
        if rel.psn_insu_stas != "1" {
            continue;
        }
        let period = (rel.begndate.clone(), rel.enddate.clone());
        let periods = active
            .entry((rel.psn_no.clone(), rel.insutype.clone()))
            .or_default();
        if claim_period(periods, period) {
            issues.push(
                "insurance.csv",
                *line,
                "begndate",
                format!(
                    "{} has two active {} relations at the same date",
                    rel.psn_no, rel.insutype
                ),
            );
        }
    }
    let insurance: Vec<InsuranceRow> = insurance.into_iter().map(|(_, r)| r).collect();

    // identities.csv
    let mut identities = Vec::new();
    read_csv(
        dir,
        "identities.csv",
        &[
            "psn_no",
            "sp_psn_type",
            "begndate",
            "enddate",
            "source_dept",
        ],
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let sp_psn_type = r.one_of(is, "sp_psn_type", &["1", "2", "3"]);
            let (begndate, enddate) = r.period(is);
            identities.push(IdentityRow {
                psn_no,
                sp_psn_type,
                begndate,
                enddate,
                source_dept: r.text(is, "source_dept", false, 50),
            });
        },
    )?;

    // accounts.csv
    let mut accounts = Vec::new();
    let mut account_holders = HashSet::new();
    read_csv(
        dir,
        "accounts.csv",
        &["psn_no", "balance"],
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            if psn_nos.contains(&psn_no) && !employees.contains(&psn_no) {
                is.push(
                    r.file,
                    r.line,
                    "psn_no",
                    format!("{psn_no} has no 310 relation, so no personal account"),
                );
            }
            if !account_holders.insert(psn_no.clone()) {
                is.push(
                    r.file,
                    r.line,
                    "psn_no",
                    format!("{psn_no} has two accounts"),
                );
            }
            match parse_yuan_fen(r.get("balance")) {
                Ok(fen) if fen < 0 => is.push(r.file, r.line, "balance", "is negative"),
                Ok(fen) => accounts.push((psn_no, fen)),
                Err(e) => is.push(r.file, r.line, "balance", e),
            }
        },
    )?;

    // family_bindings.csv
    let mut bindings = Vec::new();
    let mut orders = HashSet::new();
    read_csv(
        dir,
        "family_bindings.csv",
        &[
            "psn_no",
            "family_psn_no",
            "bind_order",
            "begndate",
            "enddate",
        ],
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let family_psn_no = known(is, r, "family_psn_no", &psn_nos);
            if psn_no == family_psn_no {
                is.push(
                    r.file,
                    r.line,
                    "family_psn_no",
                    "a person cannot be bound to themselves",
                );
            }
            let bind_order = match r.get("bind_order").parse::<i64>() {
                Ok(n) if n >= 1 && n <= limits::FAMILY_BINDINGS_PER_PERSON_MAX as i64 => n,
                _ => {
                    is.push(
                        r.file,
                        r.line,
                        "bind_order",
                        format!(
                            "{:?} is not 1..={}",
                            r.get("bind_order"),
                            limits::FAMILY_BINDINGS_PER_PERSON_MAX
                        ),
                    );
                    0
                }
            };
            if bind_order > 0 && !orders.insert((psn_no.clone(), bind_order)) {
                is.push(
                    r.file,
                    r.line,
                    "bind_order",
                    format!("{bind_order} appears twice for {psn_no}"),
                );
            }
            let (begndate, enddate) = r.period(is);
            bindings.push(BindingRow {
                psn_no,
                family_psn_no,
                bind_order,
                begndate,
                enddate,
            });
        },
    )?;

    // institutions.csv
    let mut institutions = Vec::new();
    let mut codes = HashSet::new();
    let mut keys = HashSet::new();
    read_csv(
        dir,
        "institutions.csv",
        &[
            "fixmedins_code",
            "fixmedins_name",
            "fixmedins_type",
            "hosp_lv",
            "hi_setl_lv",
            "admdvs",
            "status",
            "access_key",
            "secret_key",
        ],
        &mut issues,
        |r, is| {
            let fixmedins_code = r.text(is, "fixmedins_code", true, id);
            if !fixmedins_code.is_empty() && !codes.insert(fixmedins_code.clone()) {
                is.push(
                    r.file,
                    r.line,
                    "fixmedins_code",
                    format!("{fixmedins_code} appears twice"),
                );
            }
            let fixmedins_type = r.one_of(is, "fixmedins_type", &["1", "2"]);
            let hosp_lv = r.get("hosp_lv").to_string();
            if fixmedins_type == "1" && !["1", "2", "3"].contains(&hosp_lv.as_str()) {
                is.push(
                    r.file,
                    r.line,
                    "hosp_lv",
                    format!("{hosp_lv:?} is not 1, 2 or 3 for a hospital"),
                );
            }
            if fixmedins_type == "2" && !hosp_lv.is_empty() {
                is.push(r.file, r.line, "hosp_lv", "must be empty for a pharmacy");
            }
            let access_key = r.text(is, "access_key", true, 100);
            if !access_key.is_empty() && !keys.insert(access_key.clone()) {
                is.push(r.file, r.line, "access_key", "appears twice");
            }
            institutions.push(InstitutionRow {
                fixmedins_code,
                fixmedins_name: r.text(is, "fixmedins_name", true, 200),
                fixmedins_type,
                hosp_lv,
                hi_setl_lv: r.one_of(is, "hi_setl_lv", &["1", "2", "3"]),
                admdvs: r.digits(is, "admdvs", 6),
                status: r.one_of(is, "status", &["0", "1"]),
                access_key,
                secret_key: r.text(is, "secret_key", true, 200),
            });
        },
    )?;

    // filings.csv
    let mut filings = Vec::new();
    let mut filing_ids = HashSet::new();
    read_csv(
        dir,
        "filings.csv",
        &[
            "psn_no",
            "trt_dcla_detl_sn",
            "dcla_type",
            "insuplc_admdvs",
            "mdtrtarea_admvs",
            "begndate",
            "enddate",
        ],
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let trt_dcla_detl_sn = r.text(is, "trt_dcla_detl_sn", true, id);
            if !trt_dcla_detl_sn.is_empty() && !filing_ids.insert(trt_dcla_detl_sn.clone()) {
                is.push(
                    r.file,
                    r.line,
                    "trt_dcla_detl_sn",
                    format!("{trt_dcla_detl_sn} appears twice"),
                );
            }
            let dcla_type = r.one_of(is, "dcla_type", &["1", "2", "3", "4", "5"]);
            let insuplc_admdvs = r.digits(is, "insuplc_admdvs", 6);
            let mdtrtarea_admvs = r.digits(is, "mdtrtarea_admvs", 6);
            let (begndate, enddate) = r.period(is);
            filings.push(FilingRow {
                trt_dcla_detl_sn,
                psn_no,
                dcla_type,
                insuplc_admdvs,
                mdtrtarea_admvs,
                begndate,
                enddate,
            });
        },
    )?;

    // ec_tokens.csv (optional)
    let mut ec_tokens = Vec::new();
    let mut tokens = HashSet::new();
    read_optional_csv(
        dir,
        "ec_tokens.csv",
        &["ec_token", "psn_no", "begndate", "enddate"],
        &mut issues,
        |r, is| {
            let ec_token = r.text(is, "ec_token", true, limits::CERT_NO_CHARS_MAX);
            if !ec_token.is_empty() && !tokens.insert(ec_token.clone()) {
                is.push(r.file, r.line, "ec_token", "appears twice");
            }
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let (begndate, enddate) = r.period(is);
            ec_tokens.push(EcTokenRow {
                ec_token,
                token_index: String::new(),
                psn_no,
                begndate,
                enddate,
            });
        },
    )?;

    // ss_cards.csv (optional)
    let mut ss_cards = Vec::new();
    let mut card_nos = HashSet::new();
    let mut cards_in_force: HashMap<String, Vec<(String, String)>> = HashMap::new();
    read_optional_csv(
        dir,
        "ss_cards.csv",
        &["card_no", "card_sn", "psn_no", "begndate", "enddate"],
        &mut issues,
        |r, is| {
            let card_no = r.text(is, "card_no", true, limits::CERT_NO_CHARS_MAX);
            if !card_no.is_empty() && !card_nos.insert(card_no.clone()) {
                is.push(
                    r.file,
                    r.line,
                    "card_no",
                    format!("{card_no} appears twice"),
                );
            }
            let card_sn = r.text(is, "card_sn", false, limits::CARD_SN_CHARS_MAX);
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let period = r.period(is);
            let held = cards_in_force.entry(psn_no.clone()).or_default();
            if claim_period(held, period.clone()) {
                is.push(
                    r.file,
                    r.line,
                    "begndate",
                    format!("{psn_no} has two cards in force at the same date"),
                );
            }
            ss_cards.push(SsCardRow {
                card_no,
                card_sn,
                psn_no,
                begndate: period.0,
                enddate: period.1,
            });
        },
    )?;

    // chronic_recognitions.csv (optional)
    let mut chronic = Vec::new();
    let mut recognised: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    read_optional_csv(
        dir,
        "chronic_recognitions.csv",
        &[
            "psn_no",
            "opsp_dise_code",
            "opsp_dise_name",
            "begndate",
            "enddate",
            "fixmedins_code",
        ],
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let opsp_dise_code = r.text(is, "opsp_dise_code", true, id);
            let opsp_dise_name = r.text(is, "opsp_dise_name", true, 300);
            let period = r.period(is);
            let fixmedins_code = r.get("fixmedins_code").to_string();
            if !fixmedins_code.is_empty() && !codes.contains(&fixmedins_code) {
                is.push(
                    r.file,
                    r.line,
                    "fixmedins_code",
                    format!("{fixmedins_code:?} is not in institutions.csv"),
                );
            }
            let periods = recognised
                .entry((psn_no.clone(), opsp_dise_code.clone()))
                .or_default();
            if claim_period(periods, period.clone()) {
                is.push(
                    r.file,
                    r.line,
                    "begndate",
                    format!("{psn_no} is recognised for {opsp_dise_code} twice at the same date"),
                );
            }
            chronic.push(ChronicRow {
                psn_no,
                opsp_dise_code,
                opsp_dise_name,
                begndate: period.0,
                enddate: period.1,
                fixmedins_code,
            });
        },
    )?;

    // contribution_tiers.csv (optional)
    let mut tiers = Vec::new();
    let mut tier_periods: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    read_optional_csv(
        dir,
        "contribution_tiers.csv",
        &["psn_no", "insutype", "clct_tier", "begndate", "enddate"],
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let insutype = r.one_of(is, "insutype", &["310", "390"]);
            let clct_tier = r.get("clct_tier").to_string();
            if clct_tier.is_empty()
                || clct_tier.len() > 6
                || !clct_tier.bytes().all(|b| b.is_ascii_digit())
            {
                is.push(
                    r.file,
                    r.line,
                    "clct_tier",
                    format!("{clct_tier:?} is not 1 to 6 digits"),
                );
            }
            let period = r.period(is);
            let periods = tier_periods
                .entry((psn_no.clone(), insutype.clone()))
                .or_default();
            if claim_period(periods, period.clone()) {
                is.push(
                    r.file,
                    r.line,
                    "begndate",
                    format!("{psn_no} has two {insutype} tiers at the same date"),
                );
            }
            tiers.push(TierRow {
                psn_no,
                insutype,
                clct_tier,
                begndate: period.0,
                enddate: period.1,
            });
        },
    )?;

    // institution_kinds.csv (optional)
    let mut institution_kinds = Vec::new();
    let mut kinds_seen = HashSet::new();
    read_optional_csv(
        dir,
        "institution_kinds.csv",
        &["fixmedins_code", "kind"],
        &mut issues,
        |r, is| {
            let fixmedins_code = r.get("fixmedins_code").to_string();
            if !codes.contains(&fixmedins_code) {
                is.push(
                    r.file,
                    r.line,
                    "fixmedins_code",
                    format!("{fixmedins_code:?} is not in institutions.csv"),
                );
            }
            let kind = r.one_of(is, "kind", yibao_policy::INSTITUTION_KINDS);
            if !kinds_seen.insert((fixmedins_code.clone(), kind.clone())) {
                is.push(
                    r.file,
                    r.line,
                    "kind",
                    format!("{kind} appears twice for {fixmedins_code}"),
                );
            }
            institution_kinds.push(InstitutionKindRow {
                fixmedins_code,
                kind,
            });
        },
    )?;

    // ytd_openings.csv (optional)
    let mut openings = Vec::new();
    let mut opened = HashSet::new();
    read_optional_csv(
        dir,
        "ytd_openings.csv",
        YTD_OPENING_COLUMNS,
        &mut issues,
        |r, is| {
            let psn_no = known(is, r, "psn_no", &psn_nos);
            let year = match r.get("year").parse::<i64>() {
                Ok(year) if (2000..=2100).contains(&year) => year,
                _ => {
                    is.push(
                        r.file,
                        r.line,
                        "year",
                        format!("{:?} is not a year", r.get("year")),
                    );
                    0
                }
            };
            if !opened.insert((psn_no.clone(), year)) {
                is.push(
                    r.file,
                    r.line,
                    "psn_no",
                    format!("{psn_no} has two openings for {year}"),
                );
            }
            let admissions = match r.get("inpatient_admissions").parse::<i64>() {
                Ok(n) if (0..=366).contains(&n) => n,
                _ => {
                    is.push(r.file, r.line, "inpatient_admissions", "is not 0..=366");
                    0
                }
            };
            let mut amount = |column: &str| match parse_yuan_fen(r.get(column)) {
                Ok(fen) if fen >= 0 => fen,
                Ok(_) => {
                    is.push(r.file, r.line, column, "must not be negative");
                    0
                }
                Err(reason) => {
                    is.push(r.file, r.line, column, reason);
                    0
                }
            };
            openings.push(OpeningRow {
                psn_no,
                year,
                inpatient_admissions: admissions,
                hifp_inpatient: amount("hifp_inpatient"),
                hifp_outpatient: amount("hifp_outpatient"),
                outpatient_deductible: amount("outpatient_deductible"),
                hifmi_base: amount("hifmi_base"),
            });
        },
    )?;

    let catalogue = read_file(dir, "catalogue.csv")?;
    let mut policies = Vec::new();
    let policy_dir = dir.join("policies");
    let entries = std::fs::read_dir(&policy_dir).map_err(|source| ImportError::Io {
        file: "policies/".to_string(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ImportError::Io {
            file: "policies/".to_string(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.ends_with(".toml") {
            continue;
        }
        let file = format!("policies/{name}");
        let body = std::fs::read_to_string(entry.path()).map_err(|source| ImportError::Io {
            file: file.clone(),
            source,
        })?;
        policies.push((file, body));
    }
    policies.sort();
    if policies.is_empty() {
        issues.push("policies/", 0, "", "no policy file (*.toml)");
    }

    if !issues.0.is_empty() {
        return Err(ImportError::Invalid(issues.0));
    }
    Ok(Parsed {
        persons,
        insurance,
        identities,
        accounts,
        bindings,
        institutions,
        filings,
        ec_tokens,
        ss_cards,
        chronic,
        tiers,
        openings,
        institution_kinds,
        catalogue,
        policies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_amounts_parse_exactly() {
        assert_eq!(parse_yuan_fen("1234.50"), Ok(123_450));
        assert_eq!(parse_yuan_fen("0.1"), Ok(10));
        assert_eq!(parse_yuan_fen("7"), Ok(700));
        assert_eq!(parse_yuan_fen("-0.01"), Ok(-1));
        assert!(parse_yuan_fen("1.234").is_err());
        assert!(parse_yuan_fen("1e3").is_err());
        assert!(parse_yuan_fen("").is_err());
        assert!(parse_yuan_fen(".5").is_err());
    }
}
