//! Architecture checks, run as normal tests: the engine crates stay pure (no I/O dependency, no
//! file system, network or clock in library code) and the crate graph only points downwards.

use std::path::{Path, PathBuf};

/// The workspace's crates from the bottom layer up. A crate may depend only on crates listed
/// before it; this keeps the graph acyclic and stops anything from depending upward.
const LAYERS: &[(&str, &str)] = &[
    ("core-types", "yibao-core-types"),
    ("gm", "yibao-gm"),
    ("translog", "yibao-translog"),
    ("policy", "yibao-policy"),
    ("audit", "yibao-audit"),
    ("enrollment", "yibao-enrollment"),
    ("drg", "yibao-drg"),
    ("settlement", "yibao-settlement"),
    ("drg-payment", "yibao-drg-payment"),
    ("funds", "yibao-funds"),
    ("privacy", "yibao-privacy"),
    ("city", "yibao-city"),
    ("store", "yibao-store"),
    ("batch", "yibao-batch"),
    ("server", "yibao-server"),
    ("staff", "yibao-staff"),
    ("dataservice", "yibao-dataservice"),
    ("safebox", "yibao-safebox"),
    ("loadgen", "yibao-loadgen"),
    ("sim", "yibao-sim"),
    ("cli", "yibao"),
];

/// Engine crates: values in, values out.
const ENGINES: &[&str] = &[
    "core-types",
    "policy",
    "audit",
    "enrollment",
    "settlement",
    "drg",
    "drg-payment",
    "funds",
    "privacy",
    "translog",
];

/// Outside crates that do I/O and must never be a normal dependency of an engine.
const IO_CRATES: &[&str] = &[
    "sqlx",
    "axum",
    "tokio",
    "hyper",
    "hyper-util",
    "tower",
    "reqwest",
    "tracing-subscriber",
    "tempfile",
];

/// Source text that means file system, network, process environment or clock access.
const IO_PATTERNS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env::var",
    "File::open",
    "File::create",
    "SystemTime::now",
    "Instant::now",
    "Utc::now",
    "Local::now",
];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The names listed under `[dependencies]` (not dev- or build-dependencies) of a manifest.
fn normal_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
        if !name.is_empty() {
            deps.push(name.trim_matches('"').to_string());
        }
    }
    deps
}

fn manifest_of(dir: &str) -> String {
    let path = crates_dir().join(dir).join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Library source without its `#[cfg(test)]` modules (tests may read fixture files).
fn non_test_source(text: &str) -> String {
    match text.find("#[cfg(test)]") {
        Some(idx) => text[..idx].to_string(),
        None => text.to_string(),
    }
}

#[test]
fn crate_graph_points_only_downwards() {
    let mut problems = Vec::new();
    for (rank, (dir, _)) in LAYERS.iter().enumerate() {
        for dep in normal_dependencies(&manifest_of(dir)) {
            if let Some(dep_rank) = LAYERS.iter().position(|(_, name)| *name == dep) {
                if dep_rank >= rank {
                    problems.push(format!("{dir} depends on {dep}, which is not below it"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

/// The hospital interface and the staff API are different callers with different
/// authentication over the same store: neither crate depends on the other (the CLI serves both
/// on one listener).
#[test]
fn server_and_staff_stand_side_by_side() {
    assert!(!normal_dependencies(&manifest_of("staff")).contains(&"yibao-server".to_string()));
    assert!(!normal_dependencies(&manifest_of("server")).contains(&"yibao-staff".to_string()));
}

#[test]
fn engines_have_no_io_dependencies() {
    let mut problems = Vec::new();
    for dir in ENGINES {
        for dep in normal_dependencies(&manifest_of(dir)) {
            if IO_CRATES.contains(&dep.as_str()) {
                problems.push(format!("engine crate {dir} depends on I/O crate {dep}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn engine_sources_do_no_io_and_read_no_clock() {
    let mut problems = Vec::new();
    for dir in ENGINES {
        let mut files = Vec::new();
        rust_files(&crates_dir().join(dir).join("src"), &mut files);
        for file in files {
            let text = non_test_source(&std::fs::read_to_string(&file).unwrap());
            for pattern in IO_PATTERNS {
                if text.contains(pattern) {
                    problems.push(format!("{} uses {pattern}", file.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "engine purity broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn dependency_parser_reads_only_normal_dependencies() {
    let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nserde.workspace = true\n\
                    yibao-core-types = { path = \"../core-types\" }\n\n[dev-dependencies]\n\
                    tokio.workspace = true\n";
    assert_eq!(normal_dependencies(manifest), ["serde", "yibao-core-types"]);
}
