//! The national codes (`national-interface.md` section 5) as types parsed once at the boundary.
//!
//! Each `parse` returns a [`CodeError`] naming the interface field and the bad value, so an edge
//! can pass it straight back to the caller.

use std::fmt;

/// A code that failed to parse: which field, what value, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason} (got {value:?})")]
pub struct CodeError {
    /// The interface field name (`med_type`, `insutype`, …).
    pub field: &'static str,
    /// The value that was refused.
    pub value: String,
    /// Why it was refused.
    pub reason: &'static str,
}

/// Longest code text held inline (the longest national code used here has 6 digits).
const CODE_TEXT_MAX: usize = 8;

/// A short ASCII code held inline, so codes are `Copy` and never allocate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct CodeText {
    len: u8,
    bytes: [u8; CODE_TEXT_MAX],
}

impl CodeText {
    /// Accepts `min..=max` ASCII digits (when `digits_only`) or alphanumerics.
    fn parse(
        field: &'static str,
        value: &str,
        min: usize,
        max: usize,
        digits_only: bool,
    ) -> Result<CodeText, CodeError> {
        let error = |reason| CodeError {
            field,
            value: value.to_owned(),
            reason,
        };
        if value.is_empty() {
            return Err(error("must not be empty"));
        }
        if value.len() < min || value.len() > max {
            return Err(error("has the wrong length"));
        }
        let valid = if digits_only {
            value.bytes().all(|b| b.is_ascii_digit())
        } else {
            value.bytes().all(|b| b.is_ascii_alphanumeric())
        };
        if !valid {
            return Err(error(if digits_only {
                "must be digits"
            } else {
                "must be letters and digits"
            }));
        }
        Ok(CodeText::from_ascii(value.as_bytes()))
    }

    const fn from_ascii(text: &[u8]) -> CodeText {
        let mut bytes = [0_u8; CODE_TEXT_MAX];
        let mut index = 0;
        while index < text.len() {
            bytes[index] = text[index];
            index += 1;
        }
        CodeText {
            len: text.len() as u8,
            bytes,
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever stored, so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for CodeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

macro_rules! code_newtype {
    ($(#[$meta:meta])* $name:ident, $field:literal, $min:literal, $max:literal, $digits:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(CodeText);

        impl $name {
            /// Parses the interface text, naming the field on error.
            pub fn parse(value: &str) -> Result<$name, CodeError> {
                CodeText::parse($field, value, $min, $max, $digits).map($name)
            }

            /// The code as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// True when the code starts with `prefix` (`"12"` matches `1201`).
            pub fn has_prefix(&self, prefix: &str) -> bool {
                self.as_str().starts_with(prefix)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_newtype!(
    /// 险种 `insutype`: `310` employees' basic insurance, `390` residents' basic insurance, ….
    Insutype, "insutype", 3, 6, true
);
code_newtype!(
    /// 医疗类别 `med_type`: `11` outpatient, `13` emergency, `14` chronic, `21` inpatient, ….
    MedType, "med_type", 2, 6, true
);
code_newtype!(
    /// 人员类别 `psn_type`: `11xx` employed, `12xx` retired, `14xx` minors, `15xx` adults.
    PsnType, "psn_type", 2, 6, true
);
code_newtype!(
    /// 特殊人员类型 `sp_psn_type` (identity category): `1` 特困, `2` 低保, `3` 返贫致贫.
    SpPsnType, "sp_psn_type", 1, 6, false
);
code_newtype!(
    /// 基金支付类型 `fund_pay_type`: the payer bucket of a `setldetail[]` row.
    FundPayType, "fund_pay_type", 6, 6, false
);

impl Insutype {
    /// `310` employees' basic medical insurance.
    pub const EMPLOYEE: Insutype = Insutype(CodeText::from_ascii(b"310"));
    /// `390` residents' basic medical insurance.
    pub const RESIDENT: Insutype = Insutype(CodeText::from_ascii(b"390"));
}

impl MedType {
    /// `11` general outpatient.
    pub const OUTPATIENT: MedType = MedType(CodeText::from_ascii(b"11"));
    /// `13` emergency.
    pub const EMERGENCY: MedType = MedType(CodeText::from_ascii(b"13"));
    /// `14` chronic/special outpatient (门诊慢特病).
    pub const CHRONIC_OUTPATIENT: MedType = MedType(CodeText::from_ascii(b"14"));
    /// `21` inpatient.
    pub const INPATIENT: MedType = MedType(CodeText::from_ascii(b"21"));
    /// `22` injury inpatient.
    pub const INJURY_INPATIENT: MedType = MedType(CodeText::from_ascii(b"22"));
    /// `24` emergency turned inpatient.
    pub const EMERGENCY_INPATIENT: MedType = MedType(CodeText::from_ascii(b"24"));
    /// `41` pharmacy purchase.
    pub const PHARMACY: MedType = MedType(CodeText::from_ascii(b"41"));
}

impl FundPayType {
    /// `310100` employees' basic pooling fund.
    pub const EMPLOYEE_POOLING: FundPayType = FundPayType(CodeText::from_ascii(b"310100"));
    /// `390100` residents' basic pooling fund.
    pub const RESIDENT_POOLING: FundPayType = FundPayType(CodeText::from_ascii(b"390100"));
    /// `330100` employees' large-amount fund (大额医疗费用补助).
    pub const LARGE_AMOUNT: FundPayType = FundPayType(CodeText::from_ascii(b"330100"));
    /// `390200` residents' serious-illness insurance (大病保险).
    pub const SERIOUS_ILLNESS: FundPayType = FundPayType(CodeText::from_ascii(b"390200"));
    /// `610100` medical assistance (医疗救助).
    pub const ASSISTANCE: FundPayType = FundPayType(CodeText::from_ascii(b"610100"));
    /// `320100` civil-servant medical subsidy (公务员医疗补助).
    pub const CIVIL_SERVANT: FundPayType = FundPayType(CodeText::from_ascii(b"320100"));
    /// `370100` enterprise supplementary insurance (企业补充医疗保险).
    pub const ENTERPRISE_SUPPLEMENTARY: FundPayType = FundPayType(CodeText::from_ascii(b"370100"));
    /// `310200` employees' personal account (个人账户).
    pub const PERSONAL_ACCOUNT: FundPayType = FundPayType(CodeText::from_ascii(b"310200"));

    /// The bucket's Chinese name for `fund_pay_type_name`, when it is a national code we know.
    pub fn name_zh(&self) -> &'static str {
        match self.as_str() {
            "310100" => "职工基本医疗保险统筹基金",
            "390100" => "城乡居民基本医疗保险统筹基金",
            "330100" => "职工大额医疗费用补助",
            "390200" => "城乡居民大病保险资金",
            "610100" => "医疗救助基金",
            "320100" => "公务员医疗补助资金",
            "370100" => "企业补充医疗保险基金",
            "310200" => "职工基本医疗保险个人账户",
            _ => "其他基金",
        }
    }
}

/// 医保区划 `admdvs`: a 6-digit administrative division code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Admdvs(u32);

impl Admdvs {
    /// Parses a 6-digit code; `field` names the interface field it came from
    /// (`insuplc_admdvs`, `mdtrtarea_admvs`, `admdvs`).
    pub fn parse_field(field: &'static str, value: &str) -> Result<Admdvs, CodeError> {
        let text = CodeText::parse(field, value, 6, 6, true)?;
        Ok(Admdvs(text.as_str().parse().unwrap_or(0)))
    }

    /// Parses a 6-digit code for the field `admdvs`.
    pub fn parse(value: &str) -> Result<Admdvs, CodeError> {
        Admdvs::parse_field("admdvs", value)
    }

    /// The code as a number (`140500`).
    pub fn code(self) -> u32 {
        self.0
    }

    /// True when `other` lies inside this region: a city code (`140500`) contains its districts
    /// (`140502`), a province code (`140000`) contains its cities, a district only itself.
    pub fn contains(self, other: Admdvs) -> bool {
        let scale = if self.0 % 10_000 == 0 {
            10_000
        } else if self.0 % 100 == 0 {
            100
        } else {
            1
        };
        self.0 / scale == other.0 / scale
    }
}

impl fmt::Display for Admdvs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, $reason:literal, { $($(#[$vmeta:meta])* $variant:ident = [$canonical:literal $(, $alias:literal)*]),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Parses the interface text, naming the field on error.
            pub fn parse(value: &str) -> Result<$name, CodeError> {
                match value {
                    $($canonical $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(CodeError { field: $field, value: value.to_owned(), reason: $reason }),
                }
            }

            /// The canonical interface code.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $canonical),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum!(
    /// 医保结算等级 `hi_setl_lv`: the institution level for deductibles and ratios.
    HiSetlLv, "hi_setl_lv", "must be 1, 2 or 3", {
        /// `1` 一级及以下.
        Level1 = ["1"],
        /// `2` 二级.
        Level2 = ["2"],
        /// `3` 三级.
        Level3 = ["3"],
    }
);

code_enum!(
    /// 收费项目等级 `chrgitm_lv`: the catalogue class of an item.
    ChrgitmLv, "chrgitm_lv", "must be 01 (甲类), 02 (乙类) or 03 (丙类)", {
        /// `01` 甲类: fully inside the policy range.
        ClassA = ["01", "1"],
        /// `02` 乙类: inside the range after a pre-self-pay share.
        ClassB = ["02", "2"],
        /// `03` 丙类: outside the range, fully self-paid.
        ClassC = ["03", "3"],
    }
);

code_enum!(
    /// The catalogue a `med_list_codg` belongs to.
    ListType, "list_type", "must be drug, service or consumable", {
        /// 药品 (national list types 101 西药中成药, 102 中药饮片, 103 自制剂).
        Drug = ["drug", "101", "102", "103"],
        /// 医疗服务项目 (201).
        ServiceItem = ["service", "201"],
        /// 医用耗材 (301).
        Consumable = ["consumable", "301"],
    }
);

code_enum!(
    /// 医院审批标志 `hosp_appr_flag` for restricted items.
    HospApprFlag, "hosp_appr_flag", "must be 0, 1 or 2", {
        /// `0` no approval needed or not stated.
        NotRequired = ["0"],
        /// `1` approved: a restricted item is covered.
        Approved = ["1"],
        /// `2` not approved: the item is fully self-paid.
        Refused = ["2"],
    }
);

code_enum!(
    /// 个人账户使用标志 `acct_used_flag`.
    AcctUsedFlag, "acct_used_flag", "must be 0, 1 or 2", {
        /// `0` the account is not used.
        NotUsed = ["0"],
        /// `1` the person's own account pays.
        Own = ["1"],
        /// `2` own account first, then family mutual aid (共济).
        OwnThenFamily = ["2"],
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_name_the_field() {
        assert_eq!(MedType::parse("21").unwrap(), MedType::INPATIENT);
        assert_eq!(Insutype::parse("390").unwrap(), Insutype::RESIDENT);
        assert_eq!(
            FundPayType::parse("310200").unwrap(),
            FundPayType::PERSONAL_ACCOUNT
        );
        let error = MedType::parse("2x").unwrap_err();
        assert_eq!(error.to_string(), "med_type: must be digits (got \"2x\")");
        let error = HiSetlLv::parse("4").unwrap_err();
        assert_eq!(error.field, "hi_setl_lv");
        assert_eq!(ChrgitmLv::parse("02").unwrap(), ChrgitmLv::ClassB);
        assert_eq!(Insutype::parse("").unwrap_err().reason, "must not be empty");
        assert!(PsnType::parse("1201").unwrap().has_prefix("12"));
    }

    #[test]
    fn regions_contain_their_districts() {
        let city = Admdvs::parse("140500").unwrap();
        assert!(city.contains(Admdvs::parse("140502").unwrap()));
        assert!(!city.contains(Admdvs::parse("370200").unwrap()));
        assert!(Admdvs::parse("370000")
            .unwrap()
            .contains(Admdvs::parse("370211").unwrap()));
        let district = Admdvs::parse("140502").unwrap();
        assert!(!district.contains(Admdvs::parse("140521").unwrap()));
        assert_eq!(
            Admdvs::parse_field("insuplc_admdvs", "1405")
                .unwrap_err()
                .field,
            "insuplc_admdvs"
        );
    }
}
