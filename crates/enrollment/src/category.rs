//! Identity categories (人员身份, spec enrollment.md §3.5): our stable enum, and the mapping to
//! the interface codes (`psn_idet_type` for 1101 `idetinfo`, `sp_psn_type` for settlement's
//! medical-assistance rules) and to the medical-assistance class.

/// An identity category a department records for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// 特困 extremely poor (incl. 三无, 五保).
    ExtremelyPoor,
    /// 孤儿 orphan, 事实无人抚养儿童 de-facto unsupported child.
    Orphan,
    /// 低保 minimum living guarantee.
    Dibao,
    /// 返贫致贫 returned to or fell into poverty.
    ReturnedToPoverty,
    /// 低保边缘 near-低保 household member (低收入救助对象).
    NearDibao,
    /// 防返贫监测对象 monitored household member.
    Monitored,
    /// 脱贫人口 formerly poor (建档立卡).
    FormerlyPoor,
    /// 因病致贫重病患者 impoverished by illness.
    ImpoverishedByIllness,
    /// 重度残疾 severe disability.
    SevereDisability,
    /// 困难退役军人 veteran in difficulty.
    VeteranInDifficulty,
    /// 优抚对象 / 残疾军人 entitled groups.
    Entitled,
    /// 医疗照顾 medical care for senior officials, academicians, model workers.
    MedicalCare,
}

/// Every category, in declaration order.
pub const CATEGORIES: [Category; 12] = [
    Category::ExtremelyPoor,
    Category::Orphan,
    Category::Dibao,
    Category::ReturnedToPoverty,
    Category::NearDibao,
    Category::Monitored,
    Category::FormerlyPoor,
    Category::ImpoverishedByIllness,
    Category::SevereDisability,
    Category::VeteranInDifficulty,
    Category::Entitled,
    Category::MedicalCare,
];

impl Category {
    /// The category a `psn_idet_type` (national) or `mat_idet_code` (resident identity) code
    /// names; `None` for a code we do not map.
    pub fn from_code(code: &str) -> Option<Category> {
        Some(match code {
            "2304" | "2301" | "2307" => Category::ExtremelyPoor,
            "2361" | "2370" => Category::Orphan,
            "2303" | "236012" | "24" => Category::Dibao,
            "226104" => Category::ReturnedToPoverty,
            "2305" | "236074" => Category::NearDibao,
            "226101" | "226102" | "226103" => Category::Monitored,
            "2302" => Category::FormerlyPoor,
            "2306" => Category::ImpoverishedByIllness,
            "2308" | "230801" => Category::SevereDisability,
            "1101" => Category::VeteranInDifficulty,
            "21" | "2101" | "2102" | "2103" | "2104" | "2105" | "2160" | "236034" => {
                Category::Entitled
            }
            "22" | "2201" | "2202" | "2203" | "2204" | "2205" | "2260" => Category::MedicalCare,
            _ => return None,
        })
    }

    /// The stable name used in files and the API (`extremely_poor`, `dibao` …).
    pub fn key(self) -> &'static str {
        match self {
            Category::ExtremelyPoor => "extremely_poor",
            Category::Orphan => "orphan",
            Category::Dibao => "dibao",
            Category::ReturnedToPoverty => "returned_to_poverty",
            Category::NearDibao => "near_dibao",
            Category::Monitored => "monitored",
            Category::FormerlyPoor => "formerly_poor",
            Category::ImpoverishedByIllness => "impoverished_by_illness",
            Category::SevereDisability => "severe_disability",
            Category::VeteranInDifficulty => "veteran_in_difficulty",
            Category::Entitled => "entitled",
            Category::MedicalCare => "medical_care",
        }
    }

    /// The category a [`Category::key`] names.
    pub fn from_key(key: &str) -> Option<Category> {
        CATEGORIES.into_iter().find(|c| c.key() == key)
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Category::ExtremelyPoor => "特困",
            Category::Orphan => "孤儿",
            Category::Dibao => "低保",
            Category::ReturnedToPoverty => "返贫致贫",
            Category::NearDibao => "低保边缘",
            Category::Monitored => "防返贫监测对象",
            Category::FormerlyPoor => "脱贫人口",
            Category::ImpoverishedByIllness => "因病致贫重病患者",
            Category::SevereDisability => "重度残疾",
            Category::VeteranInDifficulty => "困难退役军人",
            Category::Entitled => "优抚对象",
            Category::MedicalCare => "医疗照顾",
        }
    }

    /// The settlement's `sp_psn_type` (the medical-assistance rules of a policy), where the
    /// national table has one: `1` 特困, `2` 低保, `3` 返贫致贫 and the formerly poor, `4`
    /// severe disability.
    pub fn sp_psn_type(self) -> Option<&'static str> {
        match self {
            Category::ExtremelyPoor => Some("1"),
            Category::Dibao => Some("2"),
            Category::ReturnedToPoverty | Category::FormerlyPoor => Some("3"),
            Category::SevereDisability => Some("4"),
            _ => None,
        }
    }

    /// The category a stored settlement `sp_psn_type` names, for subsidies (the reverse of
    /// [`Category::sp_psn_type`], which also maps the formerly poor to `3`): `1` 特困, `2` 低保,
    /// `3` 返贫致贫, `4` severe disability; `None` for any other code.
    pub fn from_sp_psn_type(code: &str) -> Option<Category> {
        Some(match code {
            "1" => Category::ExtremelyPoor,
            "2" => Category::Dibao,
            "3" => Category::ReturnedToPoverty,
            "4" => Category::SevereDisability,
            _ => return None,
        })
    }

    /// The medical-assistance class (1 highest … 4), where the category has one.
    pub fn assistance_class(self) -> Option<u8> {
        match self {
            Category::ExtremelyPoor | Category::Orphan => Some(1),
            Category::Dibao | Category::ReturnedToPoverty => Some(2),
            Category::NearDibao | Category::Monitored => Some(3),
            Category::ImpoverishedByIllness => Some(4),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_categories_and_back() {
        assert_eq!(Category::from_code("2303"), Some(Category::Dibao));
        assert_eq!(Category::from_code("2304"), Some(Category::ExtremelyPoor));
        assert_eq!(Category::from_code("9999"), None);
        for c in CATEGORIES {
            assert_eq!(Category::from_key(c.key()), Some(c));
        }
        assert_eq!(Category::Dibao.sp_psn_type(), Some("2"));
        assert_eq!(Category::Monitored.assistance_class(), Some(3));
        for code in ["1", "2", "3", "4"] {
            let category = Category::from_sp_psn_type(code).expect("a national code");
            assert_eq!(category.sp_psn_type(), Some(code));
        }
        assert_eq!(Category::from_sp_psn_type("9"), None);
    }
}
