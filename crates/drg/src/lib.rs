//! drg (being built).
