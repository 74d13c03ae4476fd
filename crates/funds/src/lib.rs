//! The funds' month end (月度清算) as pure functions: a region's `[funds]` settings, the pricing
//! of a month's inpatient cases by DRG points or DIP scores on top of what settlement already
//! paid, each institution's payment order (what it is owed, what is deducted, what the banks
//! pay), and the classification behind the fund statements. No I/O and no clock: the store
//! gathers the month from the database and posts what these functions decide
//! (`docs/FUNDS.md`).

pub mod config;
pub mod error;
pub mod order;
pub mod pricing;
pub mod statement;

pub use error::FundsError;
