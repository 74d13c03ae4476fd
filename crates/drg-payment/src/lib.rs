//! drg-payment (being built).
