//! The classification of medical-insurance personal data (§4): 11 categories, 74 items, three
//! levels, the store columns each item maps to, and the value rules that raise a level (§4.3).
//! All of it is data (`data/classification.toml`), parsed and validated once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::PrivacyError;
use crate::limits::ITEMS_MAX;

/// What replaces a value whose derived item was not granted (§4.3).
pub const RESTRICTED_PLACEHOLDER: &str = "受限诊断/RESTRICTED";

/// The shipped classification file.
pub const CLASSIFICATION_FILE: &str = include_str!("../data/classification.toml");

/// Categories the classification must hold (§4.2).
pub const CATEGORIES_COUNT: usize = 11;
/// Items the classification must hold (§4.2).
pub const ITEMS_COUNT: usize = 74;

/// A sensitivity level (§4.1). Ordered: `L1 < L2 < L3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 一般个人信息: limited harm.
    L1,
    /// 敏感个人信息: PIPL Art. 28 categories.
    L2,
    /// 高度敏感: statutory secrecy, authentication secrets, biometrics.
    L3,
}

impl Level {
    /// The level numbered 1, 2 or 3.
    pub fn from_number(number: u8) -> Option<Level> {
        match number {
            1 => Some(Level::L1),
            2 => Some(Level::L2),
            3 => Some(Level::L3),
            _ => None,
        }
    }

    /// 1, 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            Level::L1 => 1,
            Level::L2 => 2,
            Level::L3 => 3,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.number())
    }
}

/// A data category, C1 to C11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Category(u8);

impl Category {
    /// The category coded `C1` … `C11`.
    pub fn parse(code: &str) -> Option<Category> {
        let number: u8 = code.strip_prefix('C')?.parse().ok()?;
        (1..=CATEGORIES_COUNT as u8)
            .contains(&number)
            .then_some(Category(number))
    }

    /// 1 to 11.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C{}", self.0)
    }
}

/// An item code such as `ID04`: two capital letters and two digits. Whether the classification
/// holds it is a separate question ([`Classification::item`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemCode([u8; 4]);

impl fmt::Debug for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ItemCode {
    /// Parses `ID04`; anything else is [`PrivacyError::BadItemCode`].
    pub fn parse(code: &str) -> Result<ItemCode, PrivacyError> {
        let bytes = code.as_bytes();
        let well_formed = bytes.len() == 4
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..].iter().all(u8::is_ascii_digit);
        if !well_formed {
            return Err(PrivacyError::BadItemCode(code.to_string()));
        }
        Ok(ItemCode([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("an item code is ASCII")
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of item codes, ordered, so every grant, request and response can say which items it
/// carries. Displayed as `ID02,ID04`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemSet(BTreeSet<ItemCode>);

impl ItemSet {
    /// The empty set.
    pub fn new() -> ItemSet {
        ItemSet::default()
    }

    /// Parses `"ID02, ID04"` (commas and/or spaces); refuses malformed codes.
    pub fn parse(text: &str) -> Result<ItemSet, PrivacyError> {
        text.split([',', ' '])
            .filter(|part| !part.is_empty())
            .map(ItemCode::parse)
            .collect()
    }

    /// Adds an item; true when it was not there.
    pub fn insert(&mut self, code: ItemCode) -> bool {
        self.0.insert(code)
    }

    /// Whether the set holds `code`.
    pub fn contains(&self, code: ItemCode) -> bool {
        self.0.contains(&code)
    }

    /// Whether every item of this set is in `other`.
    pub fn is_subset(&self, other: &ItemSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The items of this set that are not in `other`.
    pub fn difference(&self, other: &ItemSet) -> ItemSet {
        ItemSet(self.0.difference(&other.0).copied().collect())
    }

    /// The items in both.
    pub fn intersection(&self, other: &ItemSet) -> ItemSet {
        ItemSet(self.0.intersection(&other.0).copied().collect())
    }

    /// The items in either.
    pub fn union(&self, other: &ItemSet) -> ItemSet {
        ItemSet(self.0.union(&other.0).copied().collect())
    }

    /// The items in order.
    pub fn iter(&self) -> impl Iterator<Item = ItemCode> + '_ {
        self.0.iter().copied()
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<ItemCode> for ItemSet {
    fn from_iter<T: IntoIterator<Item = ItemCode>>(iter: T) -> ItemSet {
        ItemSet(iter.into_iter().collect())
    }
}

impl fmt::Display for ItemSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (idx, code) in self.0.iter().enumerate() {
            if idx > 0 {
                f.write_str(",")?;
            }
            f.write_str(code.as_str())?;
        }
        Ok(())
    }
}

/// One item of the classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `ID04`.
    pub code: ItemCode,
    /// Its category.
    pub category: Category,
    /// Its name in Chinese.
    pub name_zh: String,
    /// Its name in English.
    pub name_en: String,
    /// Its level before any value rule.
    pub level: Level,
    /// Store columns it maps to ("table.column", "*.column", "table.*"); empty when the
    /// platform does not hold it.
    pub fields: Vec<String>,
    /// Whether it exists only as a view of other items' values (VS09, RX04, SP05, SP06), so a
    /// purpose can exclude it by code (§4.3).
    pub derived: bool,
    /// Why the platform holds no field for it.
    pub absent: Option<String>,
}

/// A category with its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryInfo {
    /// C1 … C11.
    pub code: Category,
    /// Its name in Chinese.
    pub name_zh: String,
    /// Its name in English.
    pub name_en: String,
}

/// Which values of a record a value rule looks at (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// ICD-10 diagnosis codes.
    Diagnosis,
    /// ICD-9-CM-3 operation codes.
    Operation,
    /// Drug codes (ATC).
    Drug,
    /// `sp_psn_type` identity categories.
    Identity,
    /// `matn_type` maternity categories.
    Maternity,
    /// The record links a minor (a family binding to a child).
    LinksMinor,
}

/// How a value rule compares codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Three-character ICD-10 categories, `B20-B24` or `Z21`.
    Range,
    /// The value starts with the listed code.
    Prefix,
    /// The value equals the listed code.
    Exact,
}

/// One value rule of §4.3: items that rise to `to` when a record's value matches the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The list's name.
    pub list: String,
    /// The values it looks at.
    pub when: Condition,
    /// How it compares.
    pub match_kind: MatchKind,
    /// The listed codes, normalised (upper case, no spaces).
    pub values: Vec<String>,
    /// The items it raises.
    pub items: ItemSet,
    /// The level they rise to.
    pub to: Level,
    /// The derived item that governs a matching value (§4.3 placeholders).
    pub derived: Option<ItemCode>,
}

impl Escalation {
    /// Whether this rule fires for the record's values.
    pub fn fires(&self, context: &ValueContext) -> bool {
        let values: &[String] = match self.when {
            Condition::Diagnosis => &context.diagnosis_codes,
            Condition::Operation => &context.operation_codes,
            Condition::Drug => &context.drug_codes,
            Condition::Identity => &context.identity_codes,
            Condition::Maternity => &context.maternity_types,
            Condition::LinksMinor => return context.links_minor,
        };
        values.iter().any(|value| self.matches(value))
    }

    /// Whether one code is on the list.
    pub fn matches(&self, value: &str) -> bool {
        let value = normalise_code(value);
        self.values.iter().any(|listed| match self.match_kind {
            MatchKind::Exact => *listed == value,
            MatchKind::Prefix => value.starts_with(listed.as_str()),
            MatchKind::Range => {
                let Some(category) = value.get(..3) else {
                    return false;
                };
                let (low, high) = listed.split_once('-').unwrap_or((listed, listed));
                low <= category && category <= high
            }
        })
    }
}

/// Upper case, without spaces: `b20.1 ` → `B20.1`.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The values of one record (a person, a visit, a settlement, a response) that value rules
/// look at. Empty lists mean "none of that kind in the record".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueContext {
    /// ICD-10 diagnosis codes in the record.
    pub diagnosis_codes: Vec<String>,
    /// ICD-9-CM-3 operation codes in the record.
    pub operation_codes: Vec<String>,
    /// Drug codes (ATC) in the record.
    pub drug_codes: Vec<String>,
    /// `sp_psn_type` identity categories of the subject.
    pub identity_codes: Vec<String>,
    /// `matn_type` codes in the record.
    pub maternity_types: Vec<String>,
    /// Whether the record links a minor (a family binding to a child).
    pub links_minor: bool,
    /// The subject's age in whole years, when known.
    pub subject_age_years: Option<u32>,
}

/// The minors rule of §4.1 (a): below this age every item is at least `floor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorRule {
    /// Age in whole years below which the rule applies (14).
    pub age_below_years: u32,
    /// The level every item is raised to at least (L2).
    pub floor: Level,
}

/// The validated classification: categories, items, the field index and the value rules.
#[derive(Debug, Clone)]
pub struct Classification {
    /// The data file's version.
    pub version: String,
    categories: Vec<CategoryInfo>,
    items: BTreeMap<ItemCode, Item>,
    escalations: Vec<Escalation>,
    minor: MinorRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileData {
    version: String,
    category: Vec<FileCategory>,
    item: Vec<FileItem>,
    escalation: Vec<FileEscalation>,
    minor: FileMinor,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCategory {
    code: String,
    name_zh: String,
    name_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileItem {
    code: String,
    category: String,
    name_zh: String,
    name_en: String,
    level: u8,
    fields: Vec<String>,
    #[serde(default)]
    derived: bool,
    absent: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEscalation {
    list: String,
    when: Condition,
    #[serde(rename = "match")]
    match_kind: MatchKind,
    values: Vec<String>,
    items: Vec<String>,
    to: u8,
    derived: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMinor {
    age_below_years: u32,
    floor: u8,
}

fn invalid(message: String) -> PrivacyError {
    PrivacyError::ClassificationInvalid(message)
}

fn parse_level(number: u8, what: &str) -> Result<Level, PrivacyError> {
    Level::from_number(number)
        .ok_or_else(|| invalid(format!("{what}: level {number} is not 1, 2 or 3")))
}

/// A field pattern is `table.column` with lower-case identifiers, either side possibly `*`
/// but not both.
fn check_field(pattern: &str, item: &str) -> Result<(), PrivacyError> {
    let ident = |part: &str| {
        part == "*"
            || (!part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    };
    match pattern.split_once('.') {
        Some((table, column))
            if ident(table) && ident(column) && !(table == "*" && column == "*") =>
        {
            Ok(())
        }
        _ => Err(invalid(format!(
            "{item}: field {pattern:?} is not table.column"
        ))),
    }
}

fn check_list_value(value: &str, kind: MatchKind, list: &str) -> Result<(), PrivacyError> {
    let well_formed = match kind {
        MatchKind::Range => {
            let (low, high) = value.split_once('-').unwrap_or((value, value));
            low.len() == 3 && high.len() == 3 && low <= high
        }
        MatchKind::Prefix | MatchKind::Exact => !value.is_empty(),
    };
    if well_formed {
        Ok(())
    } else {
        Err(invalid(format!(
            "list {list}: value {value:?} is malformed"
        )))
    }
}

impl Classification {
    /// Parses and validates a classification file: exactly 11 categories C1–C11 and 74 items
    /// with unique codes, every reference resolved, derived items without fields.
    pub fn parse(text: &str) -> Result<Classification, PrivacyError> {
        let data: FileData = toml::from_str(text)
            .map_err(|err| PrivacyError::ClassificationSyntax(err.to_string()))?;

        if data.category.len() != CATEGORIES_COUNT {
            return Err(invalid(format!(
                "{} categories, expected {CATEGORIES_COUNT}",
                data.category.len()
            )));
        }
        let mut categories = Vec::with_capacity(CATEGORIES_COUNT);
        for (idx, category) in data.category.into_iter().enumerate() {
            let code = Category::parse(&category.code)
                .ok_or_else(|| invalid(format!("category {:?} is not C1 to C11", category.code)))?;
            if usize::from(code.number()) != idx + 1 {
                return Err(invalid(format!("category {code} is out of order")));
            }
            categories.push(CategoryInfo {
                code,
                name_zh: category.name_zh,
                name_en: category.name_en,
            });
        }

        if data.item.len() != ITEMS_COUNT {
            return Err(invalid(format!(
                "{} items, expected {ITEMS_COUNT}",
                data.item.len()
            )));
        }
        let mut items = BTreeMap::new();
        for item in data.item {
            let code = ItemCode::parse(&item.code)?;
            let category = Category::parse(&item.category)
                .ok_or_else(|| invalid(format!("{code}: category {:?} unknown", item.category)))?;
            let level = parse_level(item.level, code.as_str())?;
            for field in &item.fields {
                check_field(field, code.as_str())?;
            }
            if item.derived && !item.fields.is_empty() {
                return Err(invalid(format!("{code}: a derived item maps to no field")));
            }
            if item.fields.is_empty() && item.absent.is_none() {
                return Err(invalid(format!("{code}: no field and no reason why")));
            }
            if item.name_zh.is_empty() || item.name_en.is_empty() {
                return Err(invalid(format!("{code}: a name is empty")));
            }
            let entry = Item {
                code,
                category,
                name_zh: item.name_zh,
                name_en: item.name_en,
                level,
                fields: item.fields,
                derived: item.derived,
                absent: item.absent,
            };
            if items.insert(code, entry).is_some() {
                return Err(invalid(format!("item {code} appears twice")));
            }
        }
        debug_assert!(items.len() <= ITEMS_MAX);

        let mut escalations = Vec::with_capacity(data.escalation.len());
        for rule in data.escalation {
            let mut rule_items = ItemSet::new();
            for code in &rule.items {
                let code = ItemCode::parse(code)?;
                if !items.contains_key(&code) {
                    return Err(invalid(format!("list {}: item {code} unknown", rule.list)));
                }
                rule_items.insert(code);
            }
            let derived = match rule.derived {
                None => None,
                Some(code) => {
                    let code = ItemCode::parse(&code)?;
                    match items.get(&code) {
                        Some(item) if item.derived => Some(code),
                        _ => {
                            return Err(invalid(format!(
                                "list {}: {code} is not a derived item",
                                rule.list
                            )))
                        }
                    }
                }
            };
            let values: Vec<String> = rule.values.iter().map(|v| normalise_code(v)).collect();
            for value in &values {
                check_list_value(value, rule.match_kind, &rule.list)?;
            }
            if values.is_empty() != (rule.when == Condition::LinksMinor) {
                return Err(invalid(format!(
                    "list {}: only links_minor has no values",
                    rule.list
                )));
            }
            escalations.push(Escalation {
                to: parse_level(rule.to, &rule.list)?,
                list: rule.list,
                when: rule.when,
                match_kind: rule.match_kind,
                values,
                items: rule_items,
                derived,
            });
        }

        let minor = MinorRule {
            age_below_years: data.minor.age_below_years,
            floor: parse_level(data.minor.floor, "minor")?,
        };
        Ok(Classification {
            version: data.version,
            categories,
            items,
            escalations,
            minor,
        })
    }

    /// The categories in order.
    pub fn categories(&self) -> &[CategoryInfo] {
        &self.categories
    }

    /// The items in code order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values()
    }

    /// Every item code.
    pub fn all_items(&self) -> ItemSet {
        self.items.keys().copied().collect()
    }

    /// The item with this code.
    pub fn item(&self, code: ItemCode) -> Option<&Item> {
        self.items.get(&code)
    }

    /// The item with this code, or [`PrivacyError::UnknownItem`].
    pub fn require(&self, code: ItemCode) -> Result<&Item, PrivacyError> {
        self.item(code).ok_or(PrivacyError::UnknownItem(code))
    }

    /// Parses an item list and checks every code is in the classification.
    pub fn parse_items(&self, text: &str) -> Result<ItemSet, PrivacyError> {
        let set = ItemSet::parse(text)?;
        for code in set.iter() {
            self.require(code)?;
        }
        Ok(set)
    }

    /// The value rules.
    pub fn escalations(&self) -> &[Escalation] {
        &self.escalations
    }

    /// The minors rule.
    pub fn minor_rule(&self) -> MinorRule {
        self.minor
    }

    /// The items a store column carries: `items_for_field("settlement", "balc")` is `AC01`.
    /// Several items can share a column (`visit.mdtrt_cert_no` holds an ID number, a card
    /// number or an e-voucher token); an unmapped column gives the empty set.
    pub fn items_for_field(&self, table: &str, column: &str) -> ItemSet {
        self.items
            .values()
            .filter(|item| {
                item.fields.iter().any(|pattern| {
                    let (t, c) = pattern.split_once('.').expect("validated at parse");
                    (t == "*" || t == table) && (c == "*" || c == column)
                })
            })
            .map(|item| item.code)
            .collect()
    }

    /// The level of an item in a record: its own level, raised by every value rule that fires
    /// for it and by the minors floor (§4.1, §4.3). An unknown item is treated as L3, the safe
    /// side; callers validate codes at the edge.
    pub fn level_of(&self, code: ItemCode, context: &ValueContext) -> Level {
        let Some(item) = self.item(code) else {
            return Level::L3;
        };
        let mut level = item.level;
        for rule in &self.escalations {
            if rule.items.contains(code) && rule.fires(context) {
                level = level.max(rule.to);
            }
        }
        if context
            .subject_age_years
            .is_some_and(|age| age < self.minor.age_below_years)
        {
            level = level.max(self.minor.floor);
        }
        level
    }

    /// The level of a record, screen, response or file: the highest of its items (就高不就低,
    /// §4.1 (b)). The empty set is L1.
    pub fn record_level(&self, items: &ItemSet, context: &ValueContext) -> Level {
        items
            .iter()
            .map(|code| self.level_of(code, context))
            .max()
            .unwrap_or(Level::L1)
    }

    /// The derived items that govern this item's values in this record: a VS04 value with an HIV
    /// code is governed by VS09, so a grant without VS09 gets a placeholder (§4.3).
    pub fn governing_derived(&self, code: ItemCode, context: &ValueContext) -> ItemSet {
        self.escalations
            .iter()
            .filter(|rule| rule.items.contains(code) && rule.fires(context))
            .filter_map(|rule| rule.derived)
            .collect()
    }

    /// The derived items governing this value that the grant lacks: when not empty, the value
    /// is replaced by [`RESTRICTED_PLACEHOLDER`] (or a fee line folded into the restricted
    /// subtotal) and the response stays at the item's own level (§4.3, T8).
    pub fn withheld_by(
        &self,
        code: ItemCode,
        granted: &ItemSet,
        context: &ValueContext,
    ) -> ItemSet {
        self.governing_derived(code, context).difference(granted)
    }

    /// Every derived item a rule can attach to this item, whatever the values: what a grant of
    /// `code` must also hold to ever see special-list values in clear.
    pub fn possible_derived(&self, code: ItemCode) -> ItemSet {
        self.escalations
            .iter()
            .filter(|rule| rule.items.contains(code))
            .filter_map(|rule| rule.derived)
            .collect()
    }

    /// Whether a code is on any list of this kind (P02 questions may not name one).
    pub fn is_special(&self, when: Condition, code: &str) -> bool {
        self.escalations
            .iter()
            .any(|rule| rule.when == when && rule.matches(code))
    }
}

/// The shipped classification, parsed once. Panics only if the shipped file is invalid, which
/// the crate's tests rule out.
pub fn builtin() -> &'static Classification {
    static BUILTIN: OnceLock<Classification> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        Classification::parse(CLASSIFICATION_FILE).expect("the shipped classification is valid")
    })
}

/// The item with this code: a shorthand for code written in the program (`item("ID04")`).
/// Panics on a malformed code; use [`ItemCode::parse`] for outside input.
pub fn item(code: &str) -> ItemCode {
    ItemCode::parse(code).expect("a literal item code")
}
