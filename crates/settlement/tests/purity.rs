//! Architecture check, run as a normal test: the engine crates this team owns (core-types,
//! policy, settlement) stay pure — no I/O or async dependency, no file system, network or clock
//! in their library code.

use std::path::Path;

const ENGINE_CRATES: [&str; 3] = ["core-types", "policy", "settlement"];
const FORBIDDEN_DEPENDENCIES: [&str; 8] = [
    "sqlx",
    "axum",
    "tokio",
    "hyper",
    "hyper-util",
    "tower",
    "tracing-subscriber",
    "rand",
];
const FORBIDDEN_CODE: [&str; 7] = [
    "std::fs",
    "std::net",
    "std::env",
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
];

fn crates_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn engine_crates_have_no_io_dependencies() {
    for name in ENGINE_CRATES {
        let manifest =
            std::fs::read_to_string(crates_dir().join(name).join("Cargo.toml")).expect("manifest");
        let dependencies = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or("")
            .split("\n[")
            .next()
            .unwrap_or("");
        for line in dependencies.lines() {
            let dependency = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
            assert!(
                !FORBIDDEN_DEPENDENCIES.contains(&dependency),
                "{name} depends on {dependency}"
            );
        }
    }
}

#[test]
fn engine_library_code_does_no_io_and_reads_no_clock() {
    for name in ENGINE_CRATES {
        // Every source file, in subfolders too (`policy/src/format/…`).
        let mut folders = vec![crates_dir().join(name).join("src")];
        let mut files = Vec::new();
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    files.push(path);
                }
            }
        }
        assert!(!files.is_empty(), "no sources found for {name}");
        for path in files {
            let text = std::fs::read_to_string(&path).expect("source");
            // Unit tests inside a module may read files; the library code above them may not.
            let library = text.split("#[cfg(test)]").next().unwrap_or("");
            for forbidden in FORBIDDEN_CODE {
                assert!(
                    !library.contains(forbidden),
                    "{} uses {forbidden}",
                    path.display()
                );
            }
        }
    }
}
