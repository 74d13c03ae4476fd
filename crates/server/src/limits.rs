//! Every limit of the interface in one place, each with the reason for its value.
//!
//! A request over a limit is refused with HTTP 200, `infcode -1` and an `err_msg` naming the
//! field, like every bad request (spec "Decisions": only a server failure is a 5xx). An oversized
//! body is no exception: it is refused (`body: larger than … bytes`) before any parsing, from its
//! `Content-Length` when declared, else while reading.

/// Largest request body accepted, checked before any parsing. The spec types `input` as C 40000
/// (§2), but a 2301 ward-day upload of [`FEE_LINES_PER_UPLOAD_MAX`] lines at about 700 bytes
/// each (Chinese names are 3 bytes per character) needs far more, so 1 MiB.
pub const BODY_BYTES_MAX: usize = 1 << 20;

/// Fee lines accepted in one 2204/2301 upload: a day's ward bill for one inpatient rarely
/// exceeds a few hundred lines; 1,000 bounds the work of one request.
pub const FEE_LINES_PER_UPLOAD_MAX: usize = 1_000;

/// Diagnoses accepted in one 2203/2401/2402/2403 message (the settlement list has at most 16
/// other diagnoses plus the main one; 50 leaves room for withdrawn ones resent with vali_flag 0).
pub const DIAGNOSES_PER_MESSAGE_MAX: usize = 50;

/// Longest `msgid` (§2: C 30).
pub const MSGID_CHARS_MAX: usize = 30;

/// Longest `sign_no` accepted in the envelope. §2 types it C 30, but the spec's own 1101
/// example (§6 V6) sends a 32-character hex UUID and real platforms accept it; 64 holds a UUID
/// with its dashes (36) with room to spare.
pub const SIGN_NO_CHARS_MAX: usize = 64;

/// Longest `infno` (§2: 4 by HN, 6 by B; codes such as `2203A` and `100001` need 6).
pub const INFNO_CHARS_MAX: usize = 6;

/// Longest value of a free-text field that the spec gives no length for (names, descriptions):
/// the longest free text in §4 is `main_cond_dscr` / `memo` at 1,000 characters.
pub const TEXT_CHARS_MAX: usize = 1_000;

/// Longest `exp_content` or device security text (§2 `dev_safe_info` C 2000, `exp_content` C 4000).
pub const EXTENSION_CHARS_MAX: usize = 4_000;

/// Largest amount in one field, in fen: 10^12 fen is 10 billion yuan, far above any bill, and
/// keeps every sum of a bounded number of amounts far inside `i64`.
pub const AMOUNT_FEN_MAX: i64 = 1_000_000_000_000;

/// Largest quantity in one fee line, in ten-thousandths: the store's limit
/// ([`yibao_store::limits::COUNT_E4_MAX`]), so the interface and the store refuse the same lines.
pub const QUANTITY_MAX_E4: i64 = yibao_store::limits::COUNT_E4_MAX;

/// Largest unit price, in millionths of a yuan: the store's limit
/// ([`yibao_store::limits::PRICE_MICRO_MAX`], 10^7 yuan), so the interface and the store refuse
/// the same lines.
pub const PRICE_MAX_E6: i64 = yibao_store::limits::PRICE_MICRO_MAX;

/// Width of the gateway signature's timestamp window (§1.2: 30 minutes), in milliseconds.
pub const SIGNATURE_WINDOW_MS: i64 = 30 * 60 * 1000;

/// Requests served at the same time per server; beyond it requests wait in the accept queue.
/// Bounded so a burst cannot exhaust the database pool's waiters.
pub const CONCURRENT_REQUESTS_MAX: usize = 512;

/// Longest time a request may take before it is answered with a server error.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
