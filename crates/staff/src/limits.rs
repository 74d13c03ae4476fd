//! Every limit of the staff API, in one place, each with the reason for its value.

/// Bytes of a request body: the largest staff request (an account with its roles) is far
/// smaller; anything bigger is a mistake or abuse and is refused before it is parsed.
pub const BODY_BYTES_MAX: usize = 16 * 1024;
/// Access log entries in one answer unless fewer are asked for.
pub const ACCESS_LOG_PAGE_DEFAULT: i64 = 100;
