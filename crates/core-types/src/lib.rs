//! core-types (being built).
