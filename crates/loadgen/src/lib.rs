//! loadgen (being built).
