//! settlement (being built).
