//! Wire types: the §4 nodes as serde structs, converted by hand to and from the backend's types.

pub mod check;
pub mod input;
pub mod output;
pub mod scalar;
