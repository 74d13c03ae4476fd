//! Every limit of the simulator, each with its reason.

/// The largest answer read from the router: a settlement answer is a few kilobytes, a 2204
/// answer about 300 bytes a line.
pub const ANSWER_BYTES_MAX: usize = 4 << 20;
/// Operations sent together in one step: enough to make every lock and batch path busy, few
/// enough that a step stays a readable unit in a failure report.
pub const CONCURRENCY_MAX: usize = 64;
/// Visit chains under way at once (each holds its bill and messages in memory).
pub const CHAINS_MAX: usize = 512;
/// Operations of one run: `yibao simulate` runs millions; beyond this a run is better split
/// into seeds.
pub const OPS_MAX: u64 = 100_000_000;
/// Persons in the simulated city (its generation streams, but every patient is kept in memory).
pub const PERSONS_MAX: u64 = 200_000;
/// Lines of an outpatient bill (the demo city's 3–15).
pub const OUTPATIENT_LINES: (usize, usize) = (3, 15);
/// Lines of an inpatient bill: one 2301 upload carries at most 50 lines.
pub const INPATIENT_LINES: (usize, usize) = (10, 40);
/// Old settlements re-read through 5203 after a step, besides those the step touched: a
/// sample, so that a step costs the same however long the run.
pub const SAMPLE_CHECKS_MAX: usize = 64;
/// Lines of the operation log kept in memory for a report (the digest covers every line).
pub const LOG_LINES_MAX: usize = 2_000_000;
/// The last operations shown with a failure: a few steps' worth.
pub const RECENT_LINES_MAX: usize = 40;
/// At most this many settlements made since the last crash are reread after a crash (a sample
/// covers the older ones), so that a crash costs the same however long the run.
pub const CRASH_REREADS_MAX: usize = 256;
/// At most this many turns of the scheduler pass before a crash in flight: enough for the
/// step's calls to be anywhere from not started to committing.
pub const CRASH_TURNS_MAX: u32 = 6;
/// A message id's length in the interface (C 30).
pub const MSGID_CHARS_MAX: usize = 30;
/// Earlier settlements looked at for one that can be undone (a bounded scan from a random
/// start, not the whole history).
pub const UNDO_OLD_TRIES_MAX: usize = 64;
