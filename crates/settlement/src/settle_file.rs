//! The offline settle file (spec section 10): parsing its JSON into domain types, and printing
//! a settlement as the 2207-shaped answer `{"setlinfo", "setldetail", "trace"}`.
//!
//! Amounts are read from the JSON text itself (strings or numbers), never through a float.
//! Every error names the field path (`person.ytd.hifmi`, `lines[2].pric`) and the reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::value::RawValue;
use yibao_core_types::{
    AcctUsedFlag, Admdvs, ChrgitmLv, Fen, HiSetlLv, HospApprFlag, Insutype, ListType, MedType,
    NaiveDate, Price, PsnType, Quantity, Ratio, SpPsnType,
};
use yibao_policy::{CatalogueEntry, FilingKind, Policy};

use crate::amounts::SetlValue;
use crate::classify::{classify_line, classify_line_with, FeeLine};
use crate::engine::Settlement;
use crate::input::{ChronicRecognition, Person, SettleInput, Visit, Ytd};
use crate::limits::{
    CODE_TEXT_MAX, FAMILY_ACCOUNTS_MAX, LINES_MAX, SP_PSN_TYPES_MAX, YTD_MAP_ENTRIES_MAX,
};
use crate::trace::{LayerDetail, RatioSource};

/// Largest settle file accepted, in bytes (a 10,000-line bill is about 3 MB).
pub const SETTLE_FILE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// A settle file that was refused: the field path and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SettleFileError {
    /// The field path (`lines[0].pric`), or `file` for the document as a whole.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// A parsed settle file: which policy to use and what to settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleFile {
    /// The policy id (`140500-2025`).
    pub policy_id: String,
    /// The input, with lines classified by the catalogue facts the file gives.
    pub input: SettleInput,
    /// Each line as sent with its catalogue facts, to classify again under a region's policy.
    pub sources: Vec<(Option<CatalogueEntry>, FeeLine)>,
}

impl SettleFile {
    /// The input with the lines classified under `policy`: where the person's scheme sets its
    /// own 乙类 pre-self-pay share (`class_b_selfpay`), that share replaces the file's.
    pub fn input_for(&self, policy: &Policy) -> SettleInput {
        let Some(scheme) = policy.scheme(self.input.person.insutype) else {
            return self.input.clone();
        };
        if scheme.class_b_selfpay.is_empty() {
            return self.input.clone();
        }
        let mut input = self.input.clone();
        input.lines = self
            .sources
            .iter()
            .map(|(entry, line)| {
                let share = entry
                    .as_ref()
                    .and_then(|entry| scheme.class_b_share(entry.list_type));
                classify_line_with(entry.as_ref(), line, share)
            })
            .collect();
        input
    }
}

fn error(field: impl Into<String>, reason: impl Into<String>) -> SettleFileError {
    SettleFileError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A JSON object seen through its raw values, with its path for messages.
struct Object<'a> {
    path: String,
    fields: BTreeMap<String, &'a RawValue>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

impl<'a> Object<'a> {
    fn parse(path: String, raw: &'a RawValue) -> Result<Object<'a>, SettleFileError> {
        if !raw.get().starts_with('{') {
            return Err(error(
                if path.is_empty() { "file".into() } else { path },
                "must be a JSON object",
            ));
        }
        let fields = serde_json::from_str(raw.get())
            .map_err(|json_error| error(path.clone(), json_error.to_string()))?;
        Ok(Object { path, fields })
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// A present, non-null value.
    fn required(&self, key: &str) -> Result<&'a RawValue, SettleFileError> {
        match self.fields.get(key) {
            None => Err(error(self.field(key), "is missing")),
            Some(raw) if is_null(raw) => Err(error(self.field(key), "must not be null")),
            Some(raw) => Ok(raw),
        }
    }

    /// A value that may be absent or null.
    fn optional(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.get(key).copied().filter(|raw| !is_null(raw))
    }

    /// Text of a string, or of a number written without quotes.
    fn text(&self, key: &str) -> Result<String, SettleFileError> {
        scalar_text(&self.field(key), self.required(key)?)
    }

    fn code<T, E: std::fmt::Display>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, SettleFileError> {
        let text = self.text(key)?;
        parse(&text).map_err(|parse_error| {
            error(self.field(key), strip_field(&parse_error.to_string(), key))
        })
    }

    fn amount(&self, key: &str) -> Result<Fen, SettleFileError> {
        let text = self.text(key)?;
        Fen::parse(&text).map_err(|decimal_error| {
            error(self.field(key), format!("{decimal_error} (got {text:?})"))
        })
    }

    fn balance(&self, key: &str) -> Result<Fen, SettleFileError> {
        let text = self.text(key)?;
        Fen::parse_non_negative(&text).map_err(|decimal_error| {
            error(self.field(key), format!("{decimal_error} (got {text:?})"))
        })
    }

    fn boolean(&self, key: &str) -> Result<bool, SettleFileError> {
        boolean(&self.field(key), self.required(key)?)
    }

    fn array(&self, key: &str, max: usize) -> Result<Vec<&'a RawValue>, SettleFileError> {
        let raw = self.required(key)?;
        if !raw.get().starts_with('[') {
            return Err(error(self.field(key), "must be a JSON array"));
        }
        let items: Vec<&RawValue> = serde_json::from_str(raw.get())
            .map_err(|json_error| error(self.field(key), json_error.to_string()))?;
        if items.len() > max {
            return Err(error(self.field(key), format!("more than {max} entries")));
        }
        Ok(items)
    }

    fn date(&self, key: &str) -> Result<NaiveDate, SettleFileError> {
        let text = self.text(key)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
            error(
                self.field(key),
                format!("must be a date yyyy-MM-dd (got {text:?})"),
            )
        })
    }

    fn object(&self, key: &str) -> Result<Object<'a>, SettleFileError> {
        Object::parse(self.field(key), self.required(key)?)
    }
}

/// A code's own error message repeats its field name; the path already says it.
fn strip_field(message: &str, key: &str) -> String {
    message
        .strip_prefix(&format!("{key}: "))
        .unwrap_or(message)
        .to_owned()
}

fn scalar_text(field: &str, raw: &RawValue) -> Result<String, SettleFileError> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .map_err(|json_error| error(field, json_error.to_string())),
        Some(b'-' | b'0'..=b'9') => Ok(text.to_owned()),
        _ => Err(error(
            field,
            format!("must be a string or a number (got {text})"),
        )),
    }
}

fn boolean(field: &str, raw: &RawValue) -> Result<bool, SettleFileError> {
    match raw.get() {
        "true" | "1" | "\"1\"" | "\"true\"" => Ok(true),
        "false" | "0" | "\"0\"" | "\"false\"" => Ok(false),
        other => Err(error(field, format!("must be true or false (got {other})"))),
    }
}

fn amount_of(field: &str, raw: &RawValue) -> Result<Fen, SettleFileError> {
    let text = scalar_text(field, raw)?;
    Fen::parse(&text)
        .map_err(|decimal_error| error(field, format!("{decimal_error} (got {text:?})")))
}

fn ytd_map(object: &Object<'_>, key: &str) -> Result<BTreeMap<String, Fen>, SettleFileError> {
    let Some(raw) = object.optional(key) else {
        return Ok(BTreeMap::new());
    };
    let map = Object::parse(object.field(key), raw)?;
    if map.fields.len() > YTD_MAP_ENTRIES_MAX {
        return Err(error(
            map.path.clone(),
            format!("more than {YTD_MAP_ENTRIES_MAX} entries"),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, value) in &map.fields {
        let field = map.field(name);
        if name.is_empty() || name.len() > CODE_TEXT_MAX {
            return Err(error(field, "key must be 1 to 64 characters"));
        }
        let amount = amount_of(&field, value)?;
        if amount.is_negative() {
            return Err(error(field, "must not be negative"));
        }
        *out.entry(name.clone()).or_insert(Fen::ZERO) += amount;
    }
    Ok(out)
}

fn parse_ytd(person: &Object<'_>) -> Result<Ytd, SettleFileError> {
    let Some(raw) = person.optional("ytd") else {
        return Ok(Ytd::default());
    };
    let ytd = Object::parse(person.field("ytd"), raw)?;
    let amount = |key: &str| -> Result<Fen, SettleFileError> {
        match ytd.optional(key) {
            None => Ok(Fen::ZERO),
            Some(_) => ytd.balance(key),
        }
    };
    let inpatient_admissions = match ytd.optional("inpatient_admissions") {
        None => 0,
        Some(raw) => {
            let field = ytd.field("inpatient_admissions");
            let text = scalar_text(&field, raw)?;
            text.parse::<u16>().map_err(|_| {
                error(
                    field,
                    format!("must be a whole number from 0 to 65535 (got {text:?})"),
                )
            })?
        }
    };
    Ok(Ytd {
        inpatient_admissions: i64::from(inpatient_admissions),
        hifp_inpatient: amount("hifp_inpatient")?,
        hifp_outpatient: amount("hifp_outpatient")?,
        outpatient_deductible: amount("outpatient_deductible")?,
        hifob: amount("hifob")?,
        hifmi_base: amount("hifmi_base")?,
        hifmi: amount("hifmi")?,
        maf: amount("maf")?,
        maf_deductible: amount("maf_deductible")?,
        chronic: ytd_map(&ytd, "chronic")?,
        other: ytd_map(&ytd, "other")?,
    })
}

fn parse_person(root: &Object<'_>) -> Result<Person, SettleFileError> {
    let person = root.object("person")?;
    let psn_no = person.text("psn_no")?;
    if psn_no.is_empty() || psn_no.len() > CODE_TEXT_MAX {
        return Err(error(person.field("psn_no"), "must be 1 to 64 characters"));
    }
    let insutype = person.code("insutype", Insutype::parse)?;
    let psn_type = person.code("psn_type", PsnType::parse)?;
    let age_text = person.text("age")?;
    // The interface's age is N(4,1) (`45.5`); whole years are kept.
    let whole_years = match age_text.split_once('.') {
        Some((whole, fraction))
            if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            whole
        }
        Some(_) => "",
        None => age_text.as_str(),
    };
    let age = whole_years
        .parse::<u32>()
        .ok()
        .filter(|age| *age <= 150)
        .ok_or_else(|| {
            error(
                person.field("age"),
                format!("must be a whole number of years from 0 to 150 (got {age_text:?})"),
            )
        })?;
    let sp_psn_types = person
        .array("sp_psn_types", SP_PSN_TYPES_MAX)?
        .into_iter()
        .enumerate()
        .map(|(idx, raw)| {
            let field = format!("{}[{idx}]", person.field("sp_psn_types"));
            let text = scalar_text(&field, raw)?;
            SpPsnType::parse(&text).map_err(|code_error| {
                error(field, strip_field(&code_error.to_string(), "sp_psn_type"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let insuplc_admdvs = person.code("insuplc_admdvs", |text| {
        Admdvs::parse_field("insuplc_admdvs", text)
    })?;
    let acct_balance = person.balance("acct_balance")?;
    let mulaid_balances = person
        .array("mulaid_balances", FAMILY_ACCOUNTS_MAX)?
        .into_iter()
        .enumerate()
        .map(|(idx, raw)| {
            let field = format!("{}[{idx}]", person.field("mulaid_balances"));
            let balance = amount_of(&field, raw)?;
            if balance.is_negative() {
                return Err(error(field, "must not be negative"));
            }
            Ok(balance)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ytd = parse_ytd(&person)?;
    let tier = match person.optional("tier") {
        None => None,
        Some(raw) => {
            let field = person.field("tier");
            let text = scalar_text(&field, raw)?;
            if text.is_empty() || text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error(
                    field,
                    format!("must be 1 to 6 digits (got {text:?})"),
                ));
            }
            Some(text)
        }
    };
    let chronic_recognitions = match person.optional("chronic_recognitions") {
        None => Vec::new(),
        Some(_) => person
            .array("chronic_recognitions", SP_PSN_TYPES_MAX)?
            .into_iter()
            .enumerate()
            .map(|(idx, raw)| {
                let item = Object::parse(
                    format!("{}[{idx}]", person.field("chronic_recognitions")),
                    raw,
                )?;
                let dise_codg = item.text("dise_codg")?;
                check_dise_codg(&item.field("dise_codg"), &dise_codg)?;
                let fixmedins_code = match item.optional("fixmedins_code") {
                    None => None,
                    Some(raw) => Some(scalar_text(&item.field("fixmedins_code"), raw)?),
                };
                Ok(ChronicRecognition {
                    dise_codg,
                    begndate: item.date("begndate")?,
                    enddate: item.date("enddate")?,
                    fixmedins_code,
                })
            })
            .collect::<Result<Vec<_>, SettleFileError>>()?,
    };
    Ok(Person {
        psn_no,
        insutype,
        psn_type,
        age,
        sp_psn_types,
        insuplc_admdvs,
        acct_balance,
        mulaid_balances,
        ytd,
        tier,
        chronic_recognitions,
    })
}

fn check_dise_codg(field: &str, dise_codg: &str) -> Result<(), SettleFileError> {
    if dise_codg.len() > CODE_TEXT_MAX
        || !dise_codg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'+' || b == b'*')
    {
        return Err(error(
            field,
            "must be an ICD-10 style code of letters, digits and dots",
        ));
    }
    Ok(())
}

fn parse_visit(root: &Object<'_>) -> Result<Visit, SettleFileError> {
    let visit = root.object("visit")?;
    let optional_text = |key: &str| -> Result<Option<String>, SettleFileError> {
        visit
            .optional(key)
            .map(|raw| scalar_text(&visit.field(key), raw))
            .transpose()
    };
    let optional_bool = |key: &str| -> Result<bool, SettleFileError> {
        match visit.optional(key) {
            None => Ok(false),
            Some(raw) => boolean(&visit.field(key), raw),
        }
    };
    let dise_codg = optional_text("dise_codg")?.unwrap_or_default();
    check_dise_codg(&visit.field("dise_codg"), &dise_codg)?;
    // `filing` names the kind; the older `cross_region_filed` says only whether there is one.
    let filing = match (
        optional_text("filing")?,
        visit.optional("cross_region_filed"),
    ) {
        (Some(_), Some(_)) => {
            return Err(error(
                visit.field("filing"),
                "give either filing or cross_region_filed, not both",
            ))
        }
        (Some(text), None) => match text.as_str() {
            "none" => None,
            "long_term" => Some(FilingKind::LongTerm),
            "temporary" => Some(FilingKind::Temporary),
            "unspecified" => Some(FilingKind::Unspecified),
            other => {
                return Err(error(
                    visit.field("filing"),
                    format!("must be none, long_term, temporary or unspecified (got {other:?})"),
                ))
            }
        },
        (None, Some(_)) => visit
            .boolean("cross_region_filed")?
            .then_some(FilingKind::Unspecified),
        (None, None) => {
            return Err(error(
                visit.field("cross_region_filed"),
                "is missing (give filing or cross_region_filed)",
            ))
        }
    };
    let institution_kinds = match visit.optional("institution_kinds") {
        None => Vec::new(),
        Some(_) => visit
            .array("institution_kinds", 8)?
            .into_iter()
            .enumerate()
            .map(|(idx, raw)| {
                let field = format!("{}[{idx}]", visit.field("institution_kinds"));
                let kind = scalar_text(&field, raw)?;
                if !yibao_policy::INSTITUTION_KINDS.contains(&kind.as_str()) {
                    return Err(error(field, format!("unknown institution kind {kind:?}")));
                }
                Ok(kind)
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let begin_date = match visit.optional("begin_date") {
        None => None,
        Some(_) => Some(visit.date("begin_date")?),
    };
    let matn_type = optional_text("matn_type")?;
    if let Some(code) = &matn_type {
        if code.is_empty() || code.len() > 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(visit.field("matn_type"), "must be 1 to 6 digits"));
        }
    }
    let fixmedins_code = optional_text("fixmedins_code")?.unwrap_or_default();
    if fixmedins_code.len() > CODE_TEXT_MAX {
        return Err(error(
            visit.field("fixmedins_code"),
            "must be at most 64 characters",
        ));
    }
    Ok(Visit {
        med_type: visit.code("med_type", MedType::parse)?,
        hi_setl_lv: visit.code("hi_setl_lv", HiSetlLv::parse)?,
        mdtrtarea_admvs: visit.code("mdtrtarea_admvs", |text| {
            Admdvs::parse_field("mdtrtarea_admvs", text)
        })?,
        filing,
        emergency: visit.boolean("emergency")?,
        dise_codg,
        acct_used_flag: visit.code("acct_used_flag", AcctUsedFlag::parse)?,
        fixmedins_code,
        institution_kinds,
        referral: optional_bool("referral")?,
        transfer_in: optional_bool("transfer_in")?,
        begin_date,
        matn_type,
    })
}

fn parse_line(
    idx: usize,
    raw: &RawValue,
) -> Result<(Option<CatalogueEntry>, FeeLine), SettleFileError> {
    let line = Object::parse(format!("lines[{idx}]"), raw)?;
    let med_list_codg = line.text("med_list_codg")?;
    if med_list_codg.is_empty() || med_list_codg.len() > CODE_TEXT_MAX {
        return Err(error(
            line.field("med_list_codg"),
            "must be 1 to 64 characters",
        ));
    }
    let in_catalogue = line.boolean("in_catalogue")?;
    let pric_text = line.text("pric")?;
    let pric = Price::parse(&pric_text).map_err(|decimal_error| {
        error(
            line.field("pric"),
            format!("{decimal_error} (got {pric_text:?})"),
        )
    })?;
    let cnt_text = line.text("cnt")?;
    let cnt = Quantity::parse(&cnt_text).map_err(|decimal_error| {
        error(
            line.field("cnt"),
            format!("{decimal_error} (got {cnt_text:?})"),
        )
    })?;
    let supplied = match line.optional("det_item_fee_sumamt") {
        None => None,
        Some(_) => Some(line.amount("det_item_fee_sumamt")?),
    };
    let hosp_appr_flag = line.code("hosp_appr_flag", HospApprFlag::parse)?;
    let entry = if in_catalogue {
        let chrgitm_lv = line.code("chrgitm_lv", ChrgitmLv::parse)?;
        let prop_text = line.text("selfpay_prop")?;
        let selfpay_prop = Ratio::parse_unit(&prop_text).map_err(|decimal_error| {
            error(
                line.field("selfpay_prop"),
                format!("{decimal_error}; must be a share in [0, 1] (got {prop_text:?})"),
            )
        })?;
        if !line.fields.contains_key("pric_uplmt_amt") {
            return Err(error(
                line.field("pric_uplmt_amt"),
                "is missing (use null for no price cap)",
            ));
        }
        let pric_uplmt_amt = match line.optional("pric_uplmt_amt") {
            None => None,
            // An empty string means no cap, like null.
            Some(raw) if raw.get() == "\"\"" => None,
            Some(raw) => {
                let field = line.field("pric_uplmt_amt");
                let text = scalar_text(&field, raw)?;
                Some(Price::parse(&text).map_err(|decimal_error| {
                    error(field, format!("{decimal_error} (got {text:?})"))
                })?)
            }
        };
        let lmt_used_flag = line.boolean("lmt_used_flag")?;
        let list_type = match line.optional("list_type") {
            None => None,
            Some(_) => Some(line.code("list_type", ListType::parse)?),
        };
        let negotiated = match line.optional("negotiated") {
            None => false,
            Some(_) => line.boolean("negotiated")?,
        };
        Some(CatalogueEntry {
            med_list_codg: med_list_codg.clone(),
            name: String::new(),
            list_type,
            chrgitm_lv,
            selfpay_prop,
            pric_uplmt_amt,
            lmt_used_flag,
            negotiated,
            begndate: None,
            enddate: None,
        })
    } else {
        None
    };
    let fee_line = FeeLine::new(med_list_codg.as_str(), pric, cnt, supplied, hosp_appr_flag)
        .map_err(|line_error| {
            let message = line_error.to_string();
            match message.split_once(": ") {
                Some((key, reason)) => error(line.field(key), reason),
                None => error(line.path.clone(), message),
            }
        })?;
    Ok((entry, fee_line))
}

/// Parses a settle file's text. Fields are checked in document order: `policy`, `settle_date`,
/// `person`, `visit`, `lines`; the first bad field is reported.
pub fn parse_settle_file(text: &str) -> Result<SettleFile, SettleFileError> {
    if text.len() > SETTLE_FILE_BYTES_MAX {
        return Err(error(
            "file",
            format!("larger than {SETTLE_FILE_BYTES_MAX} bytes"),
        ));
    }
    let raw: &RawValue = serde_json::from_str(text)
        .map_err(|json_error| error("file", format!("not valid JSON: {json_error}")))?;
    let root = Object::parse(String::new(), raw)?;
    let policy_id = root.text("policy")?;
    let date_text = root.text("settle_date")?;
    let settle_date = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d").map_err(|_| {
        error(
            "settle_date",
            format!("must be a date yyyy-MM-dd (got {date_text:?})"),
        )
    })?;
    let person = parse_person(&root)?;
    let visit = parse_visit(&root)?;
    let sources = root
        .array("lines", LINES_MAX)?
        .into_iter()
        .enumerate()
        .map(|(idx, raw)| parse_line(idx, raw))
        .collect::<Result<Vec<_>, _>>()?;
    let lines = sources
        .iter()
        .map(|(entry, line)| classify_line(entry.as_ref(), line))
        .collect();
    Ok(SettleFile {
        policy_id,
        input: SettleInput {
            person,
            visit,
            lines,
            settle_date,
        },
        sources,
    })
}

/// A JSON value to print, with amounts kept as exact decimal text.
enum Out {
    /// A JSON number with two decimals.
    Amount(Fen),
    /// A JSON number with four decimals.
    Ratio4(Ratio),
    /// A JSON number, shortest exact form.
    Ratio(Ratio),
    Text(String),
    Integer(i64),
    Bool(bool),
    Null,
    Array(Vec<Out>),
    Object(Vec<(&'static str, Out)>),
}

impl Out {
    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Out::Amount(amount) => {
                let _ = write!(out, "{amount}");
            }
            Out::Ratio4(ratio) => out.push_str(&ratio.render(4)),
            Out::Ratio(ratio) => {
                let _ = write!(out, "{ratio}");
            }
            Out::Text(text) => {
                out.push_str(&serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into()))
            }
            Out::Integer(value) => {
                let _ = write!(out, "{value}");
            }
            Out::Bool(value) => {
                let _ = write!(out, "{value}");
            }
            Out::Null => out.push_str("null"),
            Out::Array(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push('[');
                for (idx, item) in items.iter().enumerate() {
                    out.push_str(if idx == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(indent + 1));
                    item.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            Out::Object(fields) => {
                out.push('{');
                for (idx, (key, value)) in fields.iter().enumerate() {
                    out.push_str(if idx == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(indent + 1));
                    let _ = write!(out, "\"{key}\": ");
                    value.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
        }
    }
}

fn text(value: impl std::fmt::Display) -> Out {
    Out::Text(value.to_string())
}

fn optional_amount(amount: Option<Fen>) -> Out {
    amount.map_or(Out::Null, Out::Amount)
}

/// Prints a settlement as the offline answer: `{"setlinfo": …, "setldetail": […], "trace": […]}`
/// with national field names and amounts as JSON numbers with two decimals.
pub fn render_settlement_json(input: &SettleInput, settlement: &Settlement) -> String {
    let person = &input.person;
    let visit = &input.visit;
    let trace = &settlement.trace;
    let mut setlinfo = vec![
        ("psn_no", text(&person.psn_no)),
        ("insutype", text(person.insutype)),
        ("psn_type", text(person.psn_type)),
        ("med_type", text(visit.med_type)),
    ];
    setlinfo.extend(settlement.amounts.values().map(|(name, value)| {
        let out = match value {
            SetlValue::Fen(amount) => Out::Amount(amount),
            SetlValue::Ratio(ratio) => Out::Ratio4(ratio),
        };
        (name, out)
    }));
    setlinfo.push(("setl_proc_info", Out::Text(trace.compact())));
    let setlinfo = Out::Object(setlinfo);
    let mut setldetail = Vec::new();
    for layer in trace.layers.iter().filter(|layer| !layer.amount.is_zero()) {
        setldetail.push(Out::Object(vec![
            ("fund_pay_type", text(layer.fund)),
            ("fund_pay_type_name", text(layer.fund.name_zh())),
            ("inscp_scp_amt", Out::Amount(layer.base_before_deductible)),
            ("crt_payb_lmt_amt", optional_amount(layer.cap_room_before)),
            ("fund_payamt", Out::Amount(layer.amount)),
        ]));
    }
    if !settlement.amounts.acct_pay.is_zero() {
        let account = &trace.account;
        let available = account.own_balance_before
            + account
                .family
                .iter()
                .map(|&(balance, _)| balance)
                .sum::<Fen>();
        setldetail.push(Out::Object(vec![
            (
                "fund_pay_type",
                text(yibao_core_types::FundPayType::PERSONAL_ACCOUNT),
            ),
            (
                "fund_pay_type_name",
                text(yibao_core_types::FundPayType::PERSONAL_ACCOUNT.name_zh()),
            ),
            ("inscp_scp_amt", Out::Amount(account.psn_part_amt)),
            ("crt_payb_lmt_amt", Out::Amount(available)),
            ("fund_payamt", Out::Amount(settlement.amounts.acct_pay)),
        ]));
    }
    let mut steps = Vec::new();
    for (idx, line) in trace.lines.iter().enumerate() {
        steps.push(Out::Object(vec![
            ("step", text("line")),
            ("line_no", Out::Integer(idx as i64 + 1)),
            ("med_list_codg", text(&*line.med_list_codg)),
            ("chrgitm_lv", line.chrgitm_lv.map_or(Out::Null, text)),
            ("reason", text(line.reason.code())),
            ("explain", text(line.reason.text_zh())),
            ("det_item_fee_sumamt", Out::Amount(line.det_item_fee_sumamt)),
            ("fulamt_ownpay_amt", Out::Amount(line.fulamt_ownpay_amt)),
            ("overlmt_selfpay", Out::Amount(line.overlmt_selfpay)),
            ("preselfpay_amt", Out::Amount(line.preselfpay_amt)),
            ("inscp_scp_amt", Out::Amount(line.inscp_scp_amt)),
            ("selfpay_prop", Out::Ratio(line.selfpay_prop)),
        ]));
    }
    for layer in &trace.layers {
        let mut fields = vec![
            ("step", text("layer")),
            ("layer", text(layer.kind.code())),
            ("fund_pay_type", text(layer.fund)),
            (
                "skipped",
                layer.skipped.map_or(Out::Null, |skip| text(skip.code())),
            ),
            ("base", Out::Amount(layer.base_before_deductible)),
            ("deductible_open", Out::Amount(layer.deductible_open)),
            ("deductible_used", Out::Amount(layer.deductible_used)),
            ("base_after_deductible", Out::Amount(layer.base)),
            ("ratio", Out::Ratio(layer.ratio)),
        ];
        let source = match layer.ratio_source {
            RatioSource::None => Out::Null,
            RatioSource::Fixed => text("fixed"),
            RatioSource::Table {
                row_idx,
                table_ratio,
                adjustment_points,
                cross_region_points,
            } => Out::Object(vec![
                ("table_row", Out::Integer(row_idx as i64 + 1)),
                ("table_ratio", Out::Ratio(table_ratio)),
                ("psn_type_points", Out::Ratio(adjustment_points)),
                ("cross_region_points", Out::Ratio(cross_region_points)),
            ]),
            RatioSource::Bands { rule_idx } => {
                Out::Object(vec![("bands_rule", Out::Integer(rule_idx as i64 + 1))])
            }
            RatioSource::Category { sp_psn_type } => {
                Out::Object(vec![("sp_psn_type", text(sp_psn_type))])
            }
        };
        fields.push(("ratio_source", source));
        match &layer.detail {
            LayerDetail::Inpatient {
                per_admission,
                repeat,
            } => {
                fields.push(("deductible_per_admission", Out::Amount(*per_admission)));
                fields.push(("repeat_admission", Out::Bool(*repeat)));
            }
            LayerDetail::Chronic { disease_key, quota } => {
                fields.push(("disease", text(disease_key)));
                fields.push(("quota", Out::Amount(*quota)));
            }
            LayerDetail::LargeAmount { overcap_base } => {
                fields.push(("overcap_base", Out::Amount(*overcap_base)))
            }
            LayerDetail::SeriousIllness {
                base_before,
                base_after,
                threshold,
            } => {
                fields.push(("accumulated_base_before", Out::Amount(*base_before)));
                fields.push(("accumulated_base_after", Out::Amount(*base_after)));
                fields.push(("threshold", Out::Amount(*threshold)));
            }
            LayerDetail::None => {}
        }
        fields.push(("raw", Out::Amount(layer.raw)));
        fields.push(("cap_room_before", optional_amount(layer.cap_room_before)));
        fields.push(("cap_room_after", optional_amount(layer.cap_room_after())));
        fields.push(("amount", Out::Amount(layer.amount)));
        steps.push(Out::Object(fields));
    }
    let account = &trace.account;
    steps.push(Out::Object(vec![
        ("step", text("account")),
        ("acct_used_flag", text(account.acct_used_flag)),
        ("scheme_has_account", Out::Bool(account.scheme_has_account)),
        ("psn_part_amt", Out::Amount(account.psn_part_amt)),
        (
            "own_balance_before",
            Out::Amount(account.own_balance_before),
        ),
        ("own_draw", Out::Amount(account.own_draw)),
        (
            "family",
            Out::Array(
                account
                    .family
                    .iter()
                    .map(|&(balance, draw)| {
                        Out::Object(vec![
                            ("balance_before", Out::Amount(balance)),
                            ("draw", Out::Amount(draw)),
                        ])
                    })
                    .collect(),
            ),
        ),
    ]));
    let document = Out::Object(vec![
        ("setlinfo", setlinfo),
        ("setldetail", Out::Array(setldetail)),
        ("trace", Out::Array(steps)),
    ]);
    let mut out = String::new();
    document.write(&mut out, 0);
    out.push('\n');
    out
}
