//! `sqlx::migrate!` embeds the migration files at compile time; this makes a new or changed
//! migration rebuild the crate (cargo does not watch those files otherwise).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
