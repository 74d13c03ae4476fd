//! `yibao drg group` end to end: the binary run on the project's test cases and on bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn testcases_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/chs-drg-1.1/testcases.jsonl")
}

fn yibao(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the yibao binary starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("the yibao binary finishes");
    writer.join().unwrap();
    output
}

fn stdout_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each output line is JSON"))
        .collect()
}

#[test]
fn groups_every_test_case_like_the_reference_with_and_without_threads() {
    let path = testcases_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let expected: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let single = yibao(&["drg", "group", path.to_str().unwrap()], None);
    assert!(
        single.status.success(),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
    let lines = stdout_lines(&single);
    assert_eq!(lines.len(), expected.len());
    let mut mismatches = Vec::new();
    for (got, case) in lines.iter().zip(&expected) {
        let want = &case["expected"];
        assert_eq!(got["id"], case["id"], "output keeps input order");
        for field in ["status", "mdc", "adrg", "drg"] {
            if got[field] != want[field] {
                mismatches.push(format!(
                    "{}: {field} {} != {}",
                    case["id"], got[field], want[field]
                ));
            }
        }
        let mut keys: Vec<&str> = got
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["adrg", "drg", "id", "mdc", "status"]);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let stderr = String::from_utf8_lossy(&single.stderr);
    assert!(stderr.contains("1656 cases"), "{stderr}");
    assert!(stderr.contains("0 bad lines"), "{stderr}");

    // Threads: same bytes, in the same order, from stdin.
    let threaded = yibao(
        &["drg", "group", "--threads", "2", "-"],
        Some(text.as_bytes()),
    );
    assert!(threaded.status.success());
    assert_eq!(threaded.stdout, single.stdout);
}

#[test]
fn bad_lines_are_reported_with_their_number_and_skipped() {
    let input = concat!(
        r#"{"id": "ok1", "sex": 1, "age_years": 40, "diagnoses": ["I63.900"], "procedures": []}"#,
        "\n",
        "not json\n",
        "\n",
        r#"{"id": "bad-age", "sex": 1, "age_years": "forty", "diagnoses": ["I63.900"]}"#,
        "\n",
        r#"{"id": "invalid", "sex": 1, "age_years": 0, "diagnoses": ["P07.100"]}"#,
        "\n",
        r#"{"id": 17, "sex": 2, "age_years": 30, "diagnoses": ["I63.900"], "extra": [1, {"x": 2}]}"#,
        "\n",
    );
    for threads in ["1", "3"] {
        let output = yibao(
            &["drg", "group", "--threads", threads, "-"],
            Some(input.as_bytes()),
        );
        assert!(output.status.success());
        let lines = stdout_lines(&output);
        let ids: Vec<&serde_json::Value> = lines.iter().map(|line| &line["id"]).collect();
        assert_eq!(
            ids,
            [
                &serde_json::json!("ok1"),
                &serde_json::json!("invalid"),
                &serde_json::json!(17)
            ]
        );
        assert_eq!(lines[1]["status"], "信息校验不通过");
        assert_eq!(lines[1]["drg"], "0000");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("line 2: not a JSON object"), "{stderr}");
        assert!(stderr.contains("line 4: field `age_years`"), "{stderr}");
        assert!(
            !stderr.contains("line 3"),
            "a blank line is not an error: {stderr}"
        );
        assert!(
            stderr.contains("3 cases") && stderr.contains("2 bad lines"),
            "{stderr}"
        );
    }
}

/// A file from a Windows tool: a byte-order mark before the first line and CRLF line ends.
/// Every line is grouped; a mark anywhere else is not skipped.
#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_accepted() {
    let case = |id: &str| {
        format!(r#"{{"id": "{id}", "sex": 1, "age_years": 40, "diagnoses": ["I63.900"]}}"#)
    };
    let input = format!(
        "\u{feff}{}\r\n{}\r\n\u{feff}{}\r\n",
        case("a"),
        case("b"),
        case("c")
    );
    for threads in ["1", "2"] {
        let output = yibao(
            &["drg", "group", "--threads", threads, "-"],
            Some(input.as_bytes()),
        );
        assert!(output.status.success());
        let lines = stdout_lines(&output);
        let ids: Vec<&str> = lines
            .iter()
            .map(|line| line["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(lines.iter().all(|line| line["status"] == "分组成功"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("line 3: not a JSON object"), "{stderr}");
    }
}

#[test]
fn trace_and_translation_options() {
    let input = concat!(
        r#"{"id": "a", "sex": 1, "age_years": 70, "diagnoses": ["I63.900", "I63.900", "J96.000"], "procedures": []}"#,
        "\n",
        r#"{"id": "b", "sex": 1, "age_years": 70, "diagnoses": ["I63.900", "A04.701"], "procedures": []}"#,
        "\n",
    );
    let output = yibao(&["drg", "group", "--trace", "-"], Some(input.as_bytes()));
    assert!(output.status.success());
    let lines = stdout_lines(&output);
    let trace = &lines[0]["trace"];
    assert_eq!(trace["cc_level"], "MCC");
    assert_eq!(trace["cc_source"]["code"], "J96.000");
    assert_eq!(trace["cc_source"]["position"], 2);
    assert!(trace["mdcs_entered"]
        .as_array()
        .unwrap()
        .contains(&lines[0]["mdc"]));
    assert!(trace["adrg_rule"].is_string());

    let strict = yibao(
        &["drg", "group", "--translate", "reject", "-"],
        Some(input.as_bytes()),
    );
    let lines = stdout_lines(&strict);
    assert_eq!(lines[1]["status"], "诊断不能转换为分组器支持的编码");
    assert_eq!(lines[1]["drg"], "0000");
    let keep = yibao(
        &["drg", "group", "--translate", "keep", "-"],
        Some(input.as_bytes()),
    );
    let plain = yibao(&["drg", "group", "-"], Some(input.as_bytes()));
    assert_eq!(keep.stdout, plain.stdout);
}

#[test]
fn an_unreadable_file_fails_and_writes_nothing() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-cases.jsonl");
    let output = yibao(&["drg", "group", missing.to_str().unwrap()], None);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-cases.jsonl"));
    let output = yibao(&["drg", "group", "--threads", "0", "-"], None);
    assert!(!output.status.success());
}

/// Chunks end after 2,048 lines or 1 MiB: four copies of the test cases (6,624 lines, about
/// 2 MiB, the last line without its newline) cross both limits, and every line is grouped once,
/// in order, with one thread or several.
#[test]
fn input_across_many_chunks_is_grouped_line_for_line() {
    let text = std::fs::read_to_string(testcases_path()).unwrap();
    let mut input = text.repeat(4);
    assert_eq!(input.pop(), Some('\n'));
    let once = yibao(&["drg", "group", "-"], Some(text.as_bytes()));
    assert!(once.status.success());
    let want = String::from_utf8(once.stdout).unwrap().repeat(4);
    for threads in ["1", "3"] {
        let output = yibao(
            &["drg", "group", "--threads", threads, "-"],
            Some(input.as_bytes()),
        );
        assert!(output.status.success());
        assert_eq!(String::from_utf8(output.stdout).unwrap(), want);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("6624 cases"), "{stderr}");
    }
}

/// A line of more than 1 MiB is reported and skipped without being kept; one of exactly 1 MiB
/// (a case padded with spaces) is still read; the lines around them are grouped.
#[test]
fn an_overlong_line_is_reported_and_the_next_one_grouped() {
    const LINE_BYTES_MAX: usize = 1 << 20;
    let case = r#"{"id": "after", "sex": 1, "age_years": 40, "diagnoses": ["I63.900"]}"#;
    let mut padded =
        r#"{"id": "padded", "sex": 1, "age_years": 40, "diagnoses": ["I63.900"]}"#.to_owned();
    padded.push_str(&" ".repeat(LINE_BYTES_MAX - padded.len()));
    let overlong = format!(r#"{{"id": "long", "x": "{}"}}"#, "y".repeat(LINE_BYTES_MAX));
    let input = format!("{case}\n{overlong}\n{padded}\n{case}\n{overlong}");
    for threads in ["1", "2"] {
        let output = yibao(
            &["drg", "group", "--threads", threads, "-"],
            Some(input.as_bytes()),
        );
        assert!(output.status.success());
        let ids: Vec<serde_json::Value> = stdout_lines(&output)
            .iter()
            .map(|line| line["id"].clone())
            .collect();
        assert_eq!(ids, ["after", "padded", "after"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("line 2: longer than 1048576 bytes")
                && stderr.contains("line 5: longer than 1048576 bytes")
                && stderr.contains("2 bad lines"),
            "{stderr}"
        );
    }
}
