//! city (being built).
