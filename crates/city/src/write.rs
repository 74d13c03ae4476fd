//! The thin edge of the city: streams the generated rows into the registry files of
//! `docs/REGISTRY-FILES.md` (`persons.csv`, `insurance.csv`, `identities.csv`, `accounts.csv`,
//! `family_bindings.csv`, `institutions.csv`, `filings.csv`, `ec_tokens.csv`, `ss_cards.csv`,
//! `chronic_recognitions.csv`). The catalogue and the policies come
//! from the policy crate and are written by the caller.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::{
    credentials, fen_to_yuan, households, institutions, CityConfig, CityError, CityRates,
    Household, Institution,
};

/// Why the registry could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] CityError),
    /// A file could not be created or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
}

const PERSONS: (&str, &[&str]) = (
    "persons.csv",
    &[
        "psn_no", "certno", "psn_name", "gend", "brdy", "naty", "tel",
    ],
);
const INSURANCE: (&str, &[&str]) = (
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
);
const IDENTITIES: (&str, &[&str]) = (
    "identities.csv",
    &[
        "psn_no",
        "sp_psn_type",
        "begndate",
        "enddate",
        "source_dept",
    ],
);
const ACCOUNTS: (&str, &[&str]) = ("accounts.csv", &["psn_no", "balance"]);
const BINDINGS: (&str, &[&str]) = (
    "family_bindings.csv",
    &[
        "psn_no",
        "family_psn_no",
        "bind_order",
        "begndate",
        "enddate",
    ],
);
const INSTITUTIONS: (&str, &[&str]) = (
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
);
const FILINGS: (&str, &[&str]) = (
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
);

const EC_TOKENS: (&str, &[&str]) = (
    "ec_tokens.csv",
    &["ec_token", "psn_no", "begndate", "enddate"],
);
const SS_CARDS: (&str, &[&str]) = (
    "ss_cards.csv",
    &["card_no", "card_sn", "psn_no", "begndate", "enddate"],
);
const CHRONIC: (&str, &[&str]) = (
    "chronic_recognitions.csv",
    &[
        "psn_no",
        "opsp_dise_code",
        "opsp_dise_name",
        "begndate",
        "enddate",
        "fixmedins_code",
    ],
);
/// How long before `as_of` a chronic disease was recognised at most (the start of the insurance
/// relation when that is later).
const CHRONIC_RECOGNISED_DAYS_BEFORE: u64 = 730;

/// Days an e-voucher token of the city is valid from `as_of`: a demo stands in for the app that
/// would show a fresh token at each visit.
const EC_TOKEN_DAYS: u64 = 366;

/// A CSV file being written, with its path for errors.
pub(crate) struct Sink {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl Sink {
    pub(crate) fn create(dir: &Path, (name, header): (&str, &[&str])) -> Result<Sink, WriteError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| WriteError::File {
            path: path.clone(),
            source: e.into(),
        })?;
        let mut sink = Sink {
            path,
            writer: csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file)),
        };
        sink.row(header)?;
        Ok(sink)
    }

    pub(crate) fn row<I: AsRef<[u8]>>(
        &mut self,
        fields: impl IntoIterator<Item = I>,
    ) -> Result<(), WriteError> {
        self.writer
            .write_record(fields)
            .map_err(|source| WriteError::File {
                path: self.path.clone(),
                source,
            })
    }

    pub(crate) fn finish(mut self) -> Result<(), WriteError> {
        self.writer.flush().map_err(|e| WriteError::File {
            path: self.path.clone(),
            source: e.into(),
        })
    }
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map(date).unwrap_or_default()
}

/// Writes the city's registry files into `dir` (which must exist), streaming household by
/// household, and returns what was written.
pub fn write_registry(dir: &Path, config: &CityConfig) -> Result<CityRates, WriteError> {
    write_registry_with_openings(dir, config, None).map(|(rates, _)| rates)
}

/// [`write_registry`], and with `openings` the persons' year-to-date openings under that policy
/// (`ytd_openings.csv`, see [`crate::write_openings`]) in the same pass over the households.
pub fn write_registry_with_openings(
    dir: &Path,
    config: &CityConfig,
    openings: Option<&yibao_policy::Policy>,
) -> Result<(CityRates, Option<crate::OpeningSummary>), WriteError> {
    config.validate()?;
    let mut opening_writer = openings
        .map(|policy| crate::opening::OpeningWriter::create(dir, config, policy))
        .transpose()?;
    let mut rates = CityRates::default();
    let institution_list = institutions(config);
    rates.observe_institutions(config, &institution_list);
    write_institutions(dir, &institution_list)?;

    let mut persons = Sink::create(dir, PERSONS)?;
    let mut insurance = Sink::create(dir, INSURANCE)?;
    let mut identities = Sink::create(dir, IDENTITIES)?;
    let mut accounts = Sink::create(dir, ACCOUNTS)?;
    let mut bindings = Sink::create(dir, BINDINGS)?;
    let mut filings = Sink::create(dir, FILINGS)?;
    let mut tokens = Sink::create(dir, EC_TOKENS)?;
    let mut cards = Sink::create(dir, SS_CARDS)?;
    let mut chronic = Sink::create(dir, CHRONIC)?;
    for household in households(config) {
        rates.observe_household(&household);
        write_household(
            &household,
            &mut persons,
            &mut insurance,
            &mut identities,
            &mut accounts,
            &mut bindings,
            &mut filings,
        )?;
        write_credentials(config, &household, &mut tokens, &mut cards)?;
        write_chronic(config, &household, &mut chronic)?;
        if let Some(writer) = opening_writer.as_mut() {
            writer.household(&household)?;
        }
    }
    for sink in [
        persons, insurance, identities, accounts, bindings, filings, tokens, cards, chronic,
    ] {
        sink.finish()?;
    }
    let summary = opening_writer.map(|writer| writer.finish()).transpose()?;
    Ok((rates, summary))
}

/// A recognition (门慢认定) for each person treated for a chronic disease, open-ended and valid
/// at any designated institution: the hospital simulator treats them wherever it sends them.
fn write_chronic(
    config: &CityConfig,
    household: &Household,
    chronic: &mut Sink,
) -> Result<(), WriteError> {
    let earliest = config.as_of - chrono::Days::new(CHRONIC_RECOGNISED_DAYS_BEFORE);
    for m in &household.members {
        if let Some(disease) = m.care.chronic {
            chronic.row([
                m.person.psn_no.as_str(),
                disease.code(),
                disease.name(),
                &date(m.relation.begndate.max(earliest)),
                "",
                "",
            ])?;
        }
    }
    Ok(())
}

/// Each person's e-voucher token (valid from `as_of` for [`EC_TOKEN_DAYS`]) and social security
/// card (in force from the start of the insurance relation).
fn write_credentials(
    config: &CityConfig,
    household: &Household,
    tokens: &mut Sink,
    cards: &mut Sink,
) -> Result<(), WriteError> {
    let token_end = config.as_of + chrono::Days::new(EC_TOKEN_DAYS - 1);
    for m in &household.members {
        let c = credentials(config.seed, m.index);
        tokens.row([
            c.ec_token.as_str(),
            &m.person.psn_no,
            &date(config.as_of),
            &date(token_end),
        ])?;
        cards.row([
            c.card_no.as_str(),
            &c.card_sn,
            &m.person.psn_no,
            &date(m.relation.begndate),
            "",
        ])?;
    }
    Ok(())
}

fn write_household(
    household: &Household,
    persons: &mut Sink,
    insurance: &mut Sink,
    identities: &mut Sink,
    accounts: &mut Sink,
    bindings: &mut Sink,
    filings: &mut Sink,
) -> Result<(), WriteError> {
    for m in &household.members {
        let p = &m.person;
        persons.row([
            &p.psn_no,
            &p.certno,
            &p.psn_name,
            p.gend(),
            &date(p.brdy),
            "01",
            &p.tel,
        ])?;
        let r = &m.relation;
        insurance.row([
            &p.psn_no,
            r.insutype.code(),
            r.psn_type.code(),
            &r.insuplc_admdvs,
            &r.emp_name,
            &date(r.begndate),
            &opt_date(r.enddate),
            r.status.code(),
        ])?;
        if let Some(i) = &m.identity {
            identities.row([
                &p.psn_no,
                i.category.code(),
                &date(i.begndate),
                &opt_date(i.enddate),
                i.source_dept,
            ])?;
        }
        if let Some(a) = &m.account {
            accounts.row([p.psn_no.as_str(), &fen_to_yuan(a.balance_fen)])?;
        }
        for b in &m.bindings {
            bindings.row([
                &p.psn_no,
                &b.family_psn_no,
                &b.bind_order.to_string(),
                &date(b.begndate),
                "",
            ])?;
        }
        if let Some(f) = &m.filing {
            filings.row([
                &p.psn_no,
                &f.trt_dcla_detl_sn,
                &f.dcla_type.to_string(),
                &r.insuplc_admdvs,
                &f.mdtrtarea_admvs,
                &date(f.begndate),
                &opt_date(f.enddate),
            ])?;
        }
    }
    Ok(())
}

fn write_institutions(dir: &Path, list: &[Institution]) -> Result<(), WriteError> {
    let mut sink = Sink::create(dir, INSTITUTIONS)?;
    for i in list {
        sink.row([
            i.fixmedins_code.as_str(),
            &i.fixmedins_name,
            i.kind.code(),
            &i.hosp_lv.map(|l| l.to_string()).unwrap_or_default(),
            &i.hi_setl_lv.to_string(),
            &i.admdvs,
            if i.active { "1" } else { "0" },
            &i.access_key,
            &i.secret_key,
        ])?;
    }
    sink.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, name: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
        let mut reader = csv::Reader::from_path(dir.join(name)).unwrap();
        let header = reader.headers().unwrap().clone();
        (header, reader.records().map(Result::unwrap).collect())
    }

    #[test]
    fn writes_every_registry_file_with_the_documented_columns() {
        let dir = tempfile::tempdir().unwrap();
        let config = CityConfig::new(3_000, 9, NaiveDate::from_ymd_opt(2025, 6, 30).unwrap());
        let rates = write_registry(dir.path(), &config).unwrap();
        for (name, columns) in [
            PERSONS,
            INSURANCE,
            IDENTITIES,
            ACCOUNTS,
            BINDINGS,
            INSTITUTIONS,
            FILINGS,
            EC_TOKENS,
            SS_CARDS,
            CHRONIC,
        ] {
            let (header, _) = read(dir.path(), name);
            assert_eq!(
                header.iter().collect::<Vec<_>>(),
                columns.to_vec(),
                "{name}"
            );
        }
        let (_, persons) = read(dir.path(), "persons.csv");
        assert_eq!(persons.len(), 3_000);
        let (_, insurance) = read(dir.path(), "insurance.csv");
        assert_eq!(insurance.len(), 3_000);
        let (_, accounts) = read(dir.path(), "accounts.csv");
        assert_eq!(accounts.len() as u64, rates.accounts);
        for a in &accounts {
            let (yuan, fen) = a[1].split_once('.').unwrap();
            assert!(yuan.parse::<u64>().is_ok() && fen.len() == 2, "{:?}", &a[1]);
        }
        let (_, institutions) = read(dir.path(), "institutions.csv");
        assert!(institutions
            .iter()
            .all(|i| (i[2] == *"2") == i[3].is_empty()));
        let (_, bindings) = read(dir.path(), "family_bindings.csv");
        assert_eq!(bindings.len() as u64, rates.bindings);
        let (_, chronic) = read(dir.path(), "chronic_recognitions.csv");
        assert!(!chronic.is_empty() && chronic.len() < 3_000);
        for name in ["ec_tokens.csv", "ss_cards.csv"] {
            let (_, rows) = read(dir.path(), name);
            assert_eq!(rows.len(), 3_000, "{name}");
        }
    }

    #[test]
    fn an_invalid_config_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = CityConfig::new(10, 9, NaiveDate::from_ymd_opt(2025, 6, 30).unwrap());
        config.region = "X".into();
        assert!(matches!(
            write_registry(dir.path(), &config),
            Err(WriteError::Config(_))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
