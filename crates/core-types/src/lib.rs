//! The shared vocabulary of yibao: exact money, ratios, prices and counts, and the national codes
//! parsed once at the boundary. Every engine depends on this crate; it depends on nothing of ours.

pub mod codes;
pub mod decimal;
pub mod limits;
pub mod money;

pub use chrono::NaiveDate;
pub use codes::{
    AcctUsedFlag, Admdvs, ChrgitmLv, CodeError, FundPayType, HiSetlLv, HospApprFlag, Insutype,
    ListType, MedType, PsnType, SpPsnType,
};
pub use decimal::DecimalError;
pub use money::{line_amount, round_half_up, Fen, Price, Quantity, Ratio};
