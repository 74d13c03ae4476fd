//! Name material: common surnames, given-name characters and place names of the Jincheng area,
//! so that generated registries read like real ones.

use rand::Rng;

/// Common surnames, most frequent first (the first ten cover about 40 % of the population).
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程", "曹", "袁",
    "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶",
    "阎", "潘", "杜", "戴", "夏", "田", "任", "姜", "范", "方", "石", "姚", "崔", "牛", "原", "常",
    "靳", "申", "秦", "武", "段", "侯", "卫", "裴", "栗", "晋", "焦", "史", "霍", "郝", "乔", "贺",
];

/// Given-name characters used more often for men.
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "阳", "建", "国",
    "志", "文", "博", "晨", "轩", "睿", "泽", "昊",
];

/// Given-name characters used more often for women.
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "丹", "萍", "红", "婷", "雪", "琳",
    "晶", "欣", "慧", "颖", "倩", "莉", "梅", "洁", "佳", "雨", "涵", "萱", "怡", "悦", "思", "琪",
    "诗", "梦", "瑶", "璐", "妍", "蕾", "薇", "桐",
];

/// Birthplace codes (GB/T 2260) of Jincheng's districts and counties with their shares of the
/// population in permille: 城区, 沁水, 阳城, 陵川, 泽州, 高平.
pub(crate) const BIRTHPLACES: &[(&str, u32)] = &[
    ("140502", 230),
    ("140521", 90),
    ("140522", 160),
    ("140524", 80),
    ("140525", 250),
    ("140581", 190),
];

/// District names for hospital names.
pub(crate) const DISTRICTS: &[&str] = &["城区", "沁水县", "阳城县", "陵川县", "泽州县", "高平市"];

/// Towns and streets for township health centres, community centres and pharmacy branches.
pub(crate) const TOWNS: &[&str] = &[
    "北石店",
    "西上庄",
    "钟家庄",
    "东街",
    "西街",
    "南街",
    "北街",
    "矿区",
    "巴公",
    "大阳",
    "周村",
    "金村",
    "高都",
    "川底",
    "下村",
    "南村",
    "柳树口",
    "晋庙铺",
    "犁川",
    "山河",
    "李寨",
    "大东沟",
    "南岭",
    "北义城",
    "寺庄",
    "马村",
    "陈区",
    "河西",
    "野川",
    "米山",
    "三甲",
    "神农",
    "建宁",
    "石末",
    "原村",
    "永录",
    "北诗",
    "凤城",
    "北留",
    "润城",
    "町店",
    "芹池",
    "蟒河",
    "东冶",
    "白桑",
    "寺头",
    "西河",
    "驾岭",
    "次营",
    "横水",
    "董封",
    "演礼",
    "固隆",
    "西交",
    "附城",
    "礼义",
    "杨村",
    "潞城",
    "六泉",
    "崇文",
    "夺火",
    "马圪当",
    "古郊",
    "郑庄",
    "端氏",
    "嘉峰",
    "龙港",
    "中村",
    "柿庄",
    "十里",
    "胡底",
    "固县",
    "郑村",
    "土沃",
    "张村",
    "苏庄",
];

/// Pharmacy chains.
pub(crate) const PHARMACY_BRANDS: &[&str] = &[
    "同仁堂",
    "国大药房",
    "老百姓大药房",
    "益丰大药房",
    "晋城康安堂",
    "仁和堂",
    "大参林",
    "一心堂",
];

/// A person's name: a surname and one or two given-name characters.
pub(crate) fn person_name(rng: &mut impl Rng, male: bool) -> String {
    // Zipf-like surname choice: squaring a uniform number favours the front of the list.
    let u: f64 = rng.random();
    let surname = SURNAMES[((u * u) * SURNAMES.len() as f64) as usize % SURNAMES.len()];
    let given = if male { GIVEN_MALE } else { GIVEN_FEMALE };
    let first = given[rng.random_range(0..given.len())];
    if rng.random_bool(0.7) {
        let second = given[rng.random_range(0..given.len())];
        format!("{surname}{first}{second}")
    } else {
        format!("{surname}{first}")
    }
}

/// A birthplace index into [`BIRTHPLACES`], weighted by population.
pub(crate) fn birthplace(rng: &mut impl Rng) -> usize {
    let total: u32 = BIRTHPLACES.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (idx, (_, weight)) in BIRTHPLACES.iter().enumerate() {
        if pick < *weight {
            return idx;
        }
        pick -= weight;
    }
    BIRTHPLACES.len() - 1
}
