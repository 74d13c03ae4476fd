//! The closed purpose catalogue of §5.2: for each purpose the most items a grant may carry, the
//! output forms, modes and validity it allows, and whether level-3 items can be inputs.

use std::fmt;

use crate::classification::{builtin, item, ItemSet};
use crate::error::PrivacyError;
use crate::limits::{CLAIM_TAIL_MS, HEALTH_CHECK_LOOKBACK_DAYS, LIMITED_USES_MAX, YEAR_MS};
use crate::time::{DAY_MS, MINUTE_MS};

/// A registered purpose (使用目的), P01 to P07.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// 快速核保身份核验: underwriting identity check.
    P01,
    /// 核保健康告知核验: underwriting health check.
    P02,
    /// 理赔直付（规则请进来）: direct claim, rules run inside the bureau.
    P03,
    /// 理赔直付（数据传输）: direct claim, data transfer.
    P04,
    /// 单次理赔材料调取: single-claim documents.
    P05,
    /// 家庭代办: family delegation (authorises a person, not an organisation).
    P06,
    /// 机构信用融资: institution credit; no personal items.
    P07,
}

/// The output ladder of R9, least revealing first: a request may ask for the grant's form or a
/// lower rung, never a higher one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputForm {
    /// Yes/no answers, enums and bands (§8).
    Derived,
    /// Results computed inside the bureau (claim amounts, aggregates).
    Computed,
    /// Fields with the masks and placeholders of §4.3.
    MaskedFields,
    /// Fields in clear.
    Fields,
}

impl OutputForm {
    /// The code used on the wire and in the log.
    pub fn code(self) -> &'static str {
        match self {
            OutputForm::Derived => "derived",
            OutputForm::Computed => "computed",
            OutputForm::MaskedFields => "masked_fields",
            OutputForm::Fields => "fields",
        }
    }
}

impl fmt::Display for OutputForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How a purpose treats level-3 items (§5.2 column "L3", R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level3Policy {
    /// Never.
    Never,
    /// As inputs inside the bureau; outputs never carry them (P03).
    InputsOnly,
    /// Only when the subject ticks them on the separate screen (P06).
    IfSubjectTicks,
}

/// How long a grant of the purpose may last (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidityCap {
    /// At most this many milliseconds from `not_before`.
    Fixed(i64),
    /// Until the policy period's end plus this many milliseconds (P03, P04).
    PolicyEndPlus(i64),
}

/// The rules of one catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeRule {
    /// The purpose.
    pub purpose: Purpose,
    /// Its name in Chinese.
    pub name_zh: &'static str,
    /// The most items a grant may carry.
    pub max_items: ItemSet,
    /// Output forms a grant may have.
    pub output_forms: &'static [OutputForm],
    /// ONCE allowed.
    pub once: bool,
    /// Largest n of LIMITED(n); 0 when LIMITED is not allowed.
    pub limited_max: u32,
    /// MULTI allowed.
    pub multi: bool,
    /// ONCE must be bound to one event (一案一授权).
    pub once_needs_event: bool,
    /// The validity cap.
    pub validity: ValidityCap,
    /// How far back a data period may reach, in days before the grant; None: no limit.
    pub lookback_days: Option<i64>,
    /// Level-3 items.
    pub level3: Level3Policy,
    /// Whether the grantee is a person (P06) rather than an organisation.
    pub grantee_is_person: bool,
}

impl Purpose {
    /// Every purpose in catalogue order.
    pub const ALL: [Purpose; 7] = [
        Purpose::P01,
        Purpose::P02,
        Purpose::P03,
        Purpose::P04,
        Purpose::P05,
        Purpose::P06,
        Purpose::P07,
    ];

    /// The code, `P01` … `P07`.
    pub fn code(self) -> &'static str {
        match self {
            Purpose::P01 => "P01",
            Purpose::P02 => "P02",
            Purpose::P03 => "P03",
            Purpose::P04 => "P04",
            Purpose::P05 => "P05",
            Purpose::P06 => "P06",
            Purpose::P07 => "P07",
        }
    }

    /// The purpose coded `P01` … `P07`.
    pub fn parse(code: &str) -> Result<Purpose, PrivacyError> {
        Purpose::ALL
            .into_iter()
            .find(|purpose| purpose.code() == code)
            .ok_or_else(|| PrivacyError::UnknownPurpose(code.to_string()))
    }

    /// The catalogue entry (§5.2).
    pub fn rule(self) -> PurposeRule {
        let set = |codes: &[&str]| codes.iter().map(|code| item(code)).collect::<ItemSet>();
        // P04 and P05 share their item maximum; P03 reads the same plus the derived items as
        // inputs, because its output never carries them.
        let claim_items = set(&[
            "VS01", "VS02", "VS03", "VS04", "VS06", "ST01", "ST02", "ST03", "ST04", "ST06", "ST07",
            "ST08", "RX01", "RX02", "RX03",
        ]);
        match self {
            Purpose::P01 => PurposeRule {
                purpose: self,
                name_zh: "快速核保身份核验",
                max_items: set(&["ID02", "ID04", "ID06", "IN01", "IN03"]),
                output_forms: &[OutputForm::Derived],
                once: true,
                limited_max: 0,
                multi: false,
                once_needs_event: false,
                validity: ValidityCap::Fixed(30 * MINUTE_MS),
                lookback_days: None,
                level3: Level3Policy::Never,
                grantee_is_person: false,
            },
            Purpose::P02 => PurposeRule {
                purpose: self,
                name_zh: "核保健康告知核验",
                max_items: set(&["FL03", "VS04"]),
                output_forms: &[OutputForm::Derived],
                once: true,
                limited_max: 0,
                multi: false,
                once_needs_event: false,
                validity: ValidityCap::Fixed(30 * MINUTE_MS),
                lookback_days: Some(HEALTH_CHECK_LOOKBACK_DAYS),
                level3: Level3Policy::Never,
                grantee_is_person: false,
            },
            Purpose::P03 => PurposeRule {
                purpose: self,
                name_zh: "理赔直付（规则请进来）",
                max_items: set(&[
                    "VS01", "VS02", "VS03", "VS04", "VS09", "ST01", "ST02", "ST03", "ST04", "ST07",
                    "ST08", "RX01", "RX02", "RX03", "RX04",
                ]),
                output_forms: &[OutputForm::Computed],
                once: false,
                limited_max: 0,
                multi: true,
                once_needs_event: false,
                validity: ValidityCap::PolicyEndPlus(CLAIM_TAIL_MS),
                lookback_days: None,
                level3: Level3Policy::InputsOnly,
                grantee_is_person: false,
            },
            Purpose::P04 => PurposeRule {
                purpose: self,
                name_zh: "理赔直付（数据传输）",
                max_items: claim_items,
                output_forms: &[OutputForm::MaskedFields],
                once: true,
                limited_max: 0,
                multi: true,
                once_needs_event: true,
                validity: ValidityCap::PolicyEndPlus(CLAIM_TAIL_MS),
                lookback_days: None,
                level3: Level3Policy::Never,
                grantee_is_person: false,
            },
            Purpose::P05 => PurposeRule {
                purpose: self,
                name_zh: "单次理赔材料调取",
                max_items: claim_items,
                output_forms: &[OutputForm::MaskedFields, OutputForm::Fields],
                once: true,
                limited_max: 3.min(LIMITED_USES_MAX),
                multi: false,
                once_needs_event: false,
                validity: ValidityCap::Fixed(30 * DAY_MS),
                lookback_days: None,
                level3: Level3Policy::Never,
                grantee_is_person: false,
            },
            Purpose::P06 => PurposeRule {
                purpose: self,
                name_zh: "家庭代办",
                max_items: builtin().all_items(),
                output_forms: &[OutputForm::Fields],
                once: false,
                limited_max: 0,
                multi: true,
                once_needs_event: false,
                validity: ValidityCap::Fixed(YEAR_MS),
                lookback_days: None,
                level3: Level3Policy::IfSubjectTicks,
                grantee_is_person: true,
            },
            Purpose::P07 => PurposeRule {
                purpose: self,
                name_zh: "机构信用融资",
                max_items: ItemSet::new(),
                output_forms: &[OutputForm::Computed],
                once: false,
                limited_max: 0,
                multi: true,
                once_needs_event: false,
                validity: ValidityCap::Fixed(YEAR_MS),
                lookback_days: None,
                level3: Level3Policy::Never,
                grantee_is_person: false,
            },
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
