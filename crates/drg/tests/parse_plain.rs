//! The plain-line parser (the CLI's fast path) against serde_json: on every input, generated or
//! damaged, `parse_case_json_into` gives exactly what serde_json alone gives — the same record
//! (overwriting a record already used) or the same error.

#[allow(dead_code)] // Only the file reader is used here.
mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use yibao_drg::{parse_case_json, parse_case_json_into, parse_case_json_serde, CaseInput};

/// `testcases.jsonl`, read once.
fn reference_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        common::scheme_file("testcases.jsonl")
            .lines()
            .map(str::to_owned)
            .collect()
    })
}

/// A reference line, whose record the parsers start from (every field must be overwritten).
fn used_record() -> CaseInput {
    parse_case_json(&reference_lines()[1]).unwrap()
}

fn assert_same(text: &str) {
    let mut ours = used_record();
    let mut reference = used_record();
    let got = parse_case_json_into(text, &mut ours);
    let want = parse_case_json_serde(text, &mut reference);
    assert_eq!(got, want, "{text}");
    if want.is_ok() {
        assert_eq!(ours, reference, "{text}");
    }
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(""), Just(" "), Just("\n\t "), Just("\r")]
}

/// Values the plain path takes: small integers, escape-free strings (codes, sex words), null,
/// arrays of codes.
fn plain() -> BoxedStrategy<String> {
    prop_oneof![
        (-5i64..400).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("null".to_owned()),
        "[A-Z0-9.x+*]{0,12}".prop_map(|s| format!("\"{s}\"")),
        prop_oneof![
            Just("\"1\""),
            Just("\" 2 \""),
            Just("\"2\t\""),
            Just("\"男\""),
            Just("\"女\""),
            Just("\"\""),
            Just("true"),
            Just("false"),
        ]
        .prop_map(str::to_owned),
        prop::collection::vec("[A-Z0-9.x]{1,10}", 0..5).prop_map(|codes| {
            let quoted: Vec<String> = codes.iter().map(|c| format!("\"{c}\"")).collect();
            format!("[{}]", quoted.join(", "))
        }),
    ]
    .boxed()
}

/// Values the plain path leaves to serde (or that only look like plain ones).
fn awkward() -> BoxedStrategy<String> {
    prop_oneof![
        Just("-0"),
        Just("012"),
        Just("1.0"),
        Just("2e0"),
        Just("-1.5E-2"),
        Just("1."),
        Just("18446744073709551616"),
        Just("9223372036854775807"),
        Just("-9223372036854775808"),
        Just("nul"),
        Just("\"a\\\"b\""),
        Just("\"\\u0031\""),
        Just("\"a\u{1}b\""),
        Just("\"40\""),
        Just("[\"A\", 1]"),
        Just("[\"A\",]"),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![6 => plain(), 1 => awkward()];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..6), ws())
                .prop_map(|(items, ws)| format!("[{ws}{}]", items.join(","))),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4).prop_map(|fields| {
                let body: Vec<String> = fields
                    .into_iter()
                    .map(|(key, value)| format!("\"{key}\": {value}"))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

fn known_key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("id"),
        Just("sex"),
        Just("age_years"),
        Just("age_days"),
        Just("birth_weight_g"),
        Just("diagnoses"),
        Just("procedures"),
    ]
}

/// One `"key": value` member: mostly a known field with a plain value.
fn member() -> impl Strategy<Value = (String, String)> {
    let other_key = prop_oneof![
        Just("dept".to_owned()),
        Just("expected".to_owned()),
        Just("i\\u0064".to_owned()),
        // Near misses of the case fields, which the plain path recognises by their bytes.
        prop_oneof![
            Just("i"),
            Just("ids"),
            Just("se"),
            Just("age_year"),
            Just("age_yearss"),
            Just("age_day"),
            Just("birth_weight"),
            Just("diagnosis"),
            Just("diagnoses_"),
            Just("procedure"),
            Just("pro\\u0063edures"),
        ]
        .prop_map(str::to_owned),
        "[a-z_]{1,10}",
    ];
    prop_oneof![
        6 => (known_key(), plain()).prop_map(|(k, v)| (k.to_owned(), v)),
        1 => (known_key(), awkward()).prop_map(|(k, v)| (k.to_owned(), v)),
        2 => (other_key, value()),
    ]
}

fn object() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((member(), ws(), ws()), 0..8),
        ws(),
        prop_oneof![8 => Just(""), 1 => Just("\n"), 1 => Just(" x"), 1 => Just(",")],
    )
        .prop_map(|(members, ws, tail)| {
            let body: Vec<String> = members
                .into_iter()
                .map(|((key, value), ws1, ws2)| format!("{ws1}\"{key}\"{ws2}:{ws1}{value}{ws2}"))
                .collect();
            format!("{ws}{{{}}}{tail}", body.join(","))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    #[test]
    fn generated_lines_parse_as_serde_parses_them(text in object()) {
        assert_same(&text);
    }

    /// A reference line with one byte replaced and cut short somewhere.
    #[test]
    fn damaged_reference_lines_parse_as_serde_parses_them(
        line in 0usize..1_656,
        at in any::<prop::sample::Index>(),
        byte in prop_oneof![Just(b'"'), Just(b','), Just(b'\\'), Just(b'1'), Just(b'.'), Just(b' '), Just(b']'), Just(b'}'), any::<u8>()],
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = reference_lines()[line].as_bytes().to_vec();
        let at = at.index(bytes.len());
        bytes[at] = byte;
        bytes.truncate(cut.index(bytes.len() + 1).max(at.min(bytes.len())));
        assert_same(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn every_reference_line_parses_as_serde_parses_it() {
    for line in reference_lines() {
        assert_same(line);
    }
}
