//! The hospital simulator (医院模拟器): an independent HTTP/1.1 client of the national hospital
//! interface. It signs requests with the CSB gateway headers, sends realistic visit chains
//! (outpatient 2201→2203→2204→2206→2207, inpatient 2401→2301→2303→2304→2402, chronic and
//! pharmacy bills), reversals, retries, 2601 冲正 and hostile requests, checks every answer
//! against the settlement identities exactly (amounts are read as decimal text into fen), and
//! measures latency per transaction, in a closed loop (a fixed number of workers) or an open
//! loop (a fixed arrival rate of chains, latency counted from each chain's intended start).
//!
//! It speaks only HTTP and the spec: it links no server or store code, so it doubles as an
//! outside client that checks the server.

pub mod amount;
pub mod bill;
pub mod config;
pub mod driver;
pub mod inventory;
pub mod limits;
pub mod open_loop;
pub mod plant;
pub mod population;
pub mod sign;
pub mod summary;
pub mod verify;
pub mod wire;

pub use config::{parse_duration, Chaos, LoadConfig, LoadError, Mix};
pub use driver::run;
pub use open_loop::{run_open_loop, OpenLoop, OpenLoopReport};
pub use plant::{Plant, PlantRates, PlantRecord};
pub use population::{
    hospital_price_micro, Item, ItemKind, Patient, Population, PopulationError, Sample, Site,
};
pub use summary::Summary;
