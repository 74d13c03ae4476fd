//! Every limit the store enforces, in one place, each with the reason for its value.

/// Fee lines in one 2204/2301 upload: a real 收费批次 is a few hundred lines; more is a bug or abuse.
pub const FEE_LINES_PER_UPLOAD_MAX: usize = 1_000;
/// Fee lines on one visit: a long inpatient stay bills some thousands of lines; this bounds a settlement's work.
pub const FEE_LINES_PER_VISIT_MAX: i64 = 20_000;
/// Diagnoses in one 2203/2401/2402/2403 message: the national settlement list has at most 50.
pub const DIAGNOSES_PER_MESSAGE_MAX: usize = 50;
/// Open outpatient visits per person: nobody has more than a handful of open registrations at once.
pub const OPEN_OUTPATIENT_VISITS_PER_PERSON_MAX: i64 = 20;
/// Bound family accounts drawn for mutual aid (共济): a household, not a village.
pub const FAMILY_BINDINGS_PER_PERSON_MAX: usize = 10;
/// Characters in an identifier field (msgid, psn_no, mdtrt_id, feedetl_sn, ...): the spec's C 30.
pub const ID_CHARS_MAX: usize = 30;
/// Characters in a `sign_no` a client sends back: the spec's C 30, but platforms hand out
/// 32-character hex UUIDs and clients echo them; 64 leaves room for a dashed UUID.
pub const SIGN_NO_CHARS_MAX: usize = 64;
/// Characters in a credential number (`mdtrt_cert_no`: an e-voucher token or a card number): the spec's C 50.
pub const CERT_NO_CHARS_MAX: usize = 50;
/// Characters in a social security card's chip identification code (`card_sn`): the spec's C 32.
pub const CARD_SN_CHARS_MAX: usize = 32;
/// Characters in a free-text field (names, descriptions): the spec's widest ordinary field is C 1000.
pub const TEXT_CHARS_MAX: usize = 1_000;
/// Absolute amount of one fee line in fen (10 million yuan): larger is a typing error, not a bill.
pub const LINE_AMOUNT_FEN_MAX: i64 = 1_000_000_000;
/// Unit price in micro-yuan (10 million yuan): the same bound for the price.
pub const PRICE_MICRO_MAX: i64 = 10_000_000_000_000;
/// Count in 1/10000 units (one million units): bounds price x count far below i64 overflow.
pub const COUNT_E4_MAX: i64 = 10_000_000_000;
/// Rows in one registry file: bounds import memory (a province is ~50 million people; import in parts).
pub const REGISTRY_ROWS_PER_FILE_MAX: usize = 20_000_000;
/// PostgreSQL: rows in one unnested multi-row insert (each column is one array parameter): bounds
/// one message's size during a registry import; a command's inserts are far smaller.
pub const UNNEST_ROWS_MAX: usize = 50_000;
/// Bound parameters in one multi-row statement: SQLite allows 32766, PostgreSQL 65535.
pub const STATEMENT_PARAMS_MAX: usize = 30_000;
/// Connections in the pool: a 2-core server gains nothing from more concurrent transactions.
pub const POOL_CONNECTIONS_MAX: u32 = 16;
/// Commands sharing one transaction (group commit): enough to spread a commit's flush over many
/// settlements, few enough that a refused member's wait for the batch to end stays short.
pub const BATCH_COMMANDS_MAX: u64 = 64;
/// Microseconds a batch stays open for more members after it began: bounds what the batch's
/// first member waits for its answer beyond its own work (a chain step takes about a millisecond).
pub const BATCH_OPEN_MICROS_MAX: u64 = 2_000;
/// PostgreSQL: group-commit lanes, each collecting batches for its share of the persons. One
/// lane runs every statement of a batch on one connection in turn; a few side by side keep both
/// cores busy while one lane waits for a round trip or a flush. Must divide `BALANCE_SHARDS`.
pub const BATCH_LANES_PG: u64 = 8;
/// Fee lines in an upload that may share a batch; a larger one runs alone so that it cannot hold
/// the other members' commit back.
pub const BATCH_FEE_LINES_MAX: usize = 100;
/// Write commands inside the store at once (queued, running, waiting for their commit); past it
/// a command is turned away at once with [`crate::StoreError::Overloaded`] instead of joining a
/// queue whose wait would grow without bound. A few hundred milliseconds of work at the
/// measured rate.
pub const WRITE_COMMANDS_QUEUED_MAX: usize = 512;
/// Attempts of one transaction that PostgreSQL aborted for a deadlock or serialization failure.
pub const TRANSACTION_ATTEMPTS_MAX: u32 = 5;
/// Shards of a hot ledger account's balance: spreads concurrent updates of one region's fund.
pub const BALANCE_SHARDS: u64 = 64;
/// Days covered by one 3201 reconciliation: a statement period is a month; a year is the ceiling.
pub const RECONCILE_DAYS_MAX: i64 = 366;
/// Seconds a SQLite write waits for a lock held by another connection before failing (the default
/// of `StoreOptions::sqlite_busy_timeout`): long enough for a checkpoint or a short batch job.
pub const SQLITE_BUSY_TIMEOUT_SECS: u64 = 10;
/// Open sign-ins of the day remembered per process: an operator per counter per institution,
/// far below this; past it the memory is simply emptied and refilled from the database.
pub const SIGN_INS_CACHED_MAX: usize = 100_000;
/// Problems reported by one failed import: enough to fix a file, not a flood.
pub const IMPORT_ISSUES_MAX: usize = 100;
/// Procedures on one settlement list (oprninfo): the national list has room for a few dozen.
pub const OPERATIONS_PER_LIST_MAX: usize = 50;
/// ICU stays on one settlement list (icuinfo): a handful of transfers in and out of intensive care.
pub const ICU_STAYS_PER_LIST_MAX: usize = 20;
/// Fund rows on one settlement list (payinfo): one per fund type, and there are about twenty.
pub const PAYMENTS_PER_LIST_MAX: usize = 50;
/// Blood rows on one settlement list (bldinfo): one per blood product category.
pub const BLOOD_ROWS_PER_LIST_MAX: usize = 20;
/// One fund's declared amount on a list (fen): 10 million yuan, far above any single stay.
pub const LIST_AMOUNT_FEN_MAX: i64 = 1_000_000_000;
/// Newborn weight in grams (N 6,2 on the list: at most 9999.99 g).
pub const NEWBORN_WEIGHT_G_MAX: i64 = 9_999;
/// Age in whole years (N 4,1 on the list): nobody is older than 150.
pub const AGE_YEARS_MAX: i64 = 150;
/// Length of stay in days (实际住院天数): a stay longer than ten years is an error.
pub const STAY_DAYS_MAX: i64 = 3_660;
/// Rows in one page of a settlement-list query (4103).
pub const SETL_LIST_PAGE_ROWS_MAX: i64 = 100;

/// Characters in a staff username: long enough for `firstname.lastname.unit`, short enough to show.
pub const USERNAME_CHARS_MAX: usize = 64;
/// Characters of a staff password at least: the length, not its classes, is what resists guessing.
pub const PASSWORD_CHARS_MIN: usize = 12;
/// Bytes of a staff password at most: a passphrase fits; bounds the work of hashing one.
pub const PASSWORD_BYTES_MAX: usize = 256;
/// Characters of one text field of an access log entry (event, action, subject, purpose, reason).
pub const LOG_FIELD_CHARS_MAX: usize = 200;
/// Access log entries in one page: enough to scroll, small enough to answer at once.
pub const ACCESS_LOG_PAGE_MAX: i64 = 500;
/// Stored subtree hashes read by one query of a proof (a proof of a log of 2^40 leaves reads
/// well under this; SQLite allows 32766 bound values per statement, two per hash).
pub const LOG_PROOF_READS_MAX: usize = 4_000;
/// Chain-era access log rows the chain check reads per query: bounds its memory on a long log.
pub const ACCESS_LOG_VERIFY_BATCH: i64 = 1_000;
/// Staff accounts listed at once: a bureau has some hundreds of staff.
pub const STAFF_LIST_MAX: i64 = 10_000;
/// Milliseconds between two writes of a session's last use: one write per request would
/// serialise every staff request on SQLite; the idle timeout is this much less exact.
pub const SESSION_TOUCH_MS_MIN: i64 = 30_000;

/// The most recent visits of a person a smart-audit check reads as history (`tx/audit.rs`,
/// written into its SQL): bounds one check's work (the rules run over every history line) for a
/// person with very many visits. The rules' windows are days to weeks; 30 visits in one is
/// already what the frequency rules (BHV) flag. Measured: the load generator's 40-person
/// sample gave each person some 70 visits a day, and reading them all saturated both cores.
pub const AUDIT_HISTORY_VISITS_MAX: i64 = 30;
/// Data rows in one department feed file: bounds an import's memory (one transaction holds the
/// whole file; a province's population is sent in parts).
pub const FEED_ROWS_MAX: usize = 5_000_000;
/// Characters in one field of a feed file: the longest legitimate field (a name, a household
/// number) is far shorter; a longer one is a broken or hostile file.
pub const FEED_FIELD_CHARS_MAX: usize = 100;
/// Characters of a row kept as the source record's payload.
pub const FEED_PAYLOAD_CHARS_MAX: usize = 400;
/// Identity numbers looked up in one statement while matching a feed: bounds one JSON
/// parameter (about 20 bytes a number).
pub const FEED_LOOKUP_KEYS_MAX: usize = 20_000;
/// Rows written per statement group while applying a feed, between progress reports.
pub const FEED_WRITE_ROWS_CHUNK: usize = 50_000;

/// Relations a contribution run assesses per chunk (one transaction each): large enough that a
/// month of a million employees is twenty commits, small enough that a chunk's rows fit in
/// memory many times over and a crash loses at most one chunk's work.
pub const CONTRIBUTION_CHUNK_ROWS: usize = 50_000;
/// The largest chunk a caller may ask for: bounds one transaction's memory and lock time.
pub const CONTRIBUTION_CHUNK_ROWS_MAX: usize = 200_000;
/// Rows of one wage declaration or employer call: a large employer's payroll fits many times.
pub const CONTRIBUTION_DECLARATIONS_MAX: usize = 2_000_000;
/// Keys from which a feed's lookup reads a whole table once instead of probing its index key
/// by key (when the keys are also at least a quarter of the table's rows): a scan streams a
/// million rows in about a second, a million index probes take several.
pub const FEED_SCAN_KEYS_MIN: usize = 50_000;

/// Rows one `yibao keys rewrap` batch re-seals in its transaction: small enough that a batch
/// holds its locks for well under a second beside a serving server.
pub const REWRAP_BATCH_ROWS_MAX: u64 = 10_000;
/// Records in one 3501–3506 message: a pharmacy's day of purchases or a stocktake of its shelves
/// is a few hundred rows; the same bound as a fee upload.
pub const INVENTORY_RECORDS_PER_MESSAGE_MAX: usize = 1_000;
/// Characters in a `med_list_codg`: the spec's C 50 (national codes are 20-odd).
pub const INVENTORY_LIST_CODE_CHARS_MAX: usize = 50;
/// Characters in a `fixmedins_hilist_name`: the spec's C 200.
pub const INVENTORY_NAME_CHARS_MAX: usize = 200;
/// Characters in a prescription number (`rxno`): the spec's C 40.
pub const INVENTORY_RXNO_CHARS_MAX: usize = 40;
/// Characters in one drug traceability code (`drug_trac_codg`): the spec's C 100 (the codes on
/// packs are 20 digits; aggregated codes are longer).
pub const TRACE_CODE_CHARS_MAX: usize = 100;
/// Traceability codes on one record: one per pack, and a record is rarely more than a few
/// hundred packs of one batch.
pub const TRACE_CODES_PER_RECORD_MAX: usize = 1_000;
/// Traceability codes in one message: bounds a message's inserts whatever its row count.
pub const TRACE_CODES_PER_MESSAGE_MAX: usize = 10_000;
/// Inventory records one read returns (a period's movements, a balance's inputs): more is
/// refused with a request to narrow the period, never silently cut.
pub const INVENTORY_ROWS_PER_READ_MAX: usize = 200_000;
