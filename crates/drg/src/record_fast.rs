//! The common case of [`crate::parse_case_json_into`] without serde: one flat JSON object whose
//! strings have no escapes and whose known fields hold integers, strings, `null` or arrays of
//! strings. Anything else (an escape, a float, a numeric string, a value of the wrong kind, a
//! very deep or very long value) makes [`parse_simple`] give up, and the caller parses the line
//! with serde_json, which also writes every error message. When it does not give up, the result
//! is exactly serde's (a property test holds the two to that).

use crate::record::{code_slot, shorten_codes, CaseId, CaseInput, Key, Sex, CODES_PER_LIST_MAX};

/// Nesting of skipped values deeper than this is left to serde_json (whose own limit is 128).
const DEPTH_MAX: usize = 64;

/// One in every byte lane.
const LANES_01: u64 = 0x0101_0101_0101_0101;
/// The top bit of every byte lane.
const LANES_80: u64 = 0x8080_8080_8080_8080;

/// The top bit of each byte lane of `word` (eight string bytes, first byte lowest) that may end
/// a plain string: a quote, a backslash or a control character. Lanes above the lowest marked
/// one can be marked wrongly (a borrow runs upwards), so only the lowest one is to be trusted;
/// a word with none of those bytes gives zero. Bytes of 0x80 and above (UTF-8) are never marked.
#[inline]
fn string_stops(word: u64) -> u64 {
    let zero_lanes = |x: u64| x.wrapping_sub(LANES_01) & !x & LANES_80;
    let quote = zero_lanes(word ^ (LANES_01 * u64::from(b'"')));
    let backslash = zero_lanes(word ^ (LANES_01 * u64::from(b'\\')));
    let control = word.wrapping_sub(LANES_01 * 0x20) & !word & LANES_80;
    quote | backslash | control
}

struct Cursor<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

/// `None` everywhere below means "not the simple case: let serde_json decide".
impl<'a> Cursor<'a> {
    #[inline(always)]
    fn skip_ws(&mut self) {
        // Nearly every token follows nothing or one space (`", "`, `": "`): those two cases
        // first, then the general loop.
        match self.bytes.get(self.at) {
            Some(&byte) if byte > b' ' => return,
            Some(b' ') => {
                self.at += 1;
                if self.bytes.get(self.at).is_some_and(|&byte| byte > b' ') {
                    return;
                }
            }
            _ => {}
        }
        while let Some(&byte) = self.bytes.get(self.at) {
            // Whitespace is at most a space: one compare passes anything above.
            if byte > b' ' || !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return;
            }
            self.at += 1;
        }
    }

    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.at).copied()
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek()? == byte {
            self.at += 1;
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes or control characters; the cursor is on its opening quote.
    /// Eight bytes are tested at a time while eight remain.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let (start, end) = self.string_span()?;
        self.text.get(start..end)
    }

    /// A string skipped: [`Cursor::string`] without making the `&str`.
    #[inline(always)]
    fn skip_string(&mut self) -> Option<()> {
        self.string_span().map(drop)
    }

    /// The byte range of a string's contents (without escapes or control characters); the
    /// cursor is on its opening quote and ends past the closing one.
    #[inline(always)]
    fn string_span(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let bytes = self.bytes;
        let start = self.at;
        let mut end = start;
        while end + 8 <= bytes.len() {
            let word = u64::from_le_bytes(bytes[end..end + 8].try_into().expect("eight bytes"));
            let stops = string_stops(word);
            if stops != 0 {
                end += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            end += 8;
        }
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' => return None,
                byte if byte < 0x20 => return None,
                _ => end += 1,
            }
        }
        self.at = end + 1;
        Some((start, end))
    }

    /// Whether `bytes[at..]` starts with `word` (a fixed length, so compared inline).
    #[inline(always)]
    fn has_at<const N: usize>(&self, at: usize, word: &[u8; N]) -> bool {
        self.bytes
            .get(at..at + N)
            .is_some_and(|bytes| bytes == word)
    }

    /// An object key; the cursor is on its opening quote. The case fields are recognised by
    /// their bytes up to the closing quote; any other key is read as a string (and one with an
    /// escape, which might spell a case field, is left to serde).
    #[inline(always)]
    fn key(&mut self) -> Option<Key> {
        let name = self.at + 1;
        let known = match self.bytes.get(name) {
            Some(b'i') if self.has_at(name, b"id\"") => Some((Key::Id, 3)),
            Some(b's') if self.has_at(name, b"sex\"") => Some((Key::Sex, 4)),
            Some(b'a') if self.has_at(name, b"age_years\"") => Some((Key::AgeYears, 10)),
            Some(b'a') if self.has_at(name, b"age_days\"") => Some((Key::AgeDays, 9)),
            Some(b'b') if self.has_at(name, b"birth_weight_g\"") => Some((Key::BirthWeightG, 15)),
            Some(b'd') if self.has_at(name, b"diagnoses\"") => Some((Key::Diagnoses, 10)),
            Some(b'p') if self.has_at(name, b"procedures\"") => Some((Key::Procedures, 11)),
            _ => None,
        };
        if let Some((key, len)) = known {
            self.at = name + len;
            return Some(key);
        }
        // A case field's name without escapes has exactly the bytes tested above.
        self.skip_string()?;
        Some(Key::Other)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes.get(self.at..self.at + word.len())? == word {
            self.at += word.len();
            Some(())
        } else {
            None
        }
    }

    /// `null`, consumed; false (nothing consumed) for anything else.
    #[inline(always)]
    fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.literal(b"null").is_some() {
            return true;
        }
        false
    }

    /// A JSON integer `-?(0|[1-9][0-9]*)` that fits an i64, and not `-0`; the next byte must
    /// not continue a number (a fraction or an exponent is left to serde).
    #[inline(always)]
    fn integer(&mut self) -> Option<i64> {
        self.skip_ws();
        let negative = self.bytes.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let digits = self.at;
        // Accumulated on the negative side, whose range holds i64::MIN too; an overflow
        // leaves the number to serde.
        let mut value: i64 = 0;
        while let Some(&byte) = self.bytes.get(self.at) {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            value = value.checked_mul(10)?.checked_sub(i64::from(digit))?;
            self.at += 1;
        }
        let n_digits = self.at - digits;
        if n_digits == 0 || (n_digits > 1 && self.bytes[digits] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            return None;
        }
        if negative {
            if value == 0 {
                return None;
            }
            Some(value)
        } else {
            value.checked_neg()
        }
    }

    /// Any JSON number, checked against the grammar and skipped.
    fn number(&mut self) -> Option<()> {
        let digits = |cursor: &mut Cursor<'_>| {
            let start = cursor.at;
            while cursor.bytes.get(cursor.at).is_some_and(u8::is_ascii_digit) {
                cursor.at += 1;
            }
            cursor.at - start
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let first = self.at;
        let n = digits(self);
        if n == 0 || (n > 1 && self.bytes[first] == b'0') {
            return None;
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Skips any JSON value whose strings have no escapes.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > DEPTH_MAX {
            return None;
        }
        match self.peek()? {
            b'"' => self.skip_string(),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => {
                self.at += 1;
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.skip_nested(depth + 1)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                if self.peek()? == b'}' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    if self.peek()? != b'"' {
                        return None;
                    }
                    self.skip_string()?;
                    self.eat(b':')?;
                    self.skip_nested(depth + 1)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// A value skipped: a plain string or a number here, anything else by [`Cursor::skip_value`].
    #[inline(always)]
    fn skip_nested(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'0'..=b'9' => self.number(),
            _ => self.skip_value(depth),
        }
    }

    /// An integer field: an integer or `null`.
    #[inline(always)]
    fn int_field(&mut self) -> Option<Option<i64>> {
        if self.null() {
            return Some(None);
        }
        self.integer().map(Some)
    }

    /// A code list: `null` or an array of escape-free strings, written into `codes` in place.
    #[inline(always)]
    fn codes(&mut self, codes: &mut Vec<String>, spare: &mut Vec<String>) -> Option<()> {
        if self.null() {
            shorten_codes(codes, spare, 0);
            return Some(());
        }
        self.eat(b'[')?;
        let mut n_codes = 0;
        if self.peek()? == b']' {
            self.at += 1;
        } else {
            loop {
                if self.peek()? != b'"' {
                    return None;
                }
                let code = self.string()?;
                if n_codes == CODES_PER_LIST_MAX {
                    return None;
                }
                code_slot(codes, spare, n_codes).push_str(code);
                n_codes += 1;
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        shorten_codes(codes, spare, n_codes);
        Some(())
    }
}

/// Parses `text` into `input` if it is the simple case; false if serde_json must parse it
/// (`input` may then hold a partial record, which serde's parse overwrites entirely).
pub(crate) fn parse_simple(text: &str, input: &mut CaseInput) -> bool {
    let mut cursor = Cursor {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    parse_object(&mut cursor, input).is_some()
}

fn parse_object(cursor: &mut Cursor<'_>, input: &mut CaseInput) -> Option<()> {
    // The last record's text id lends its buffer to this one's.
    let mut spare_id = match input.id.take() {
        Some(CaseId::Text(owned)) => Some(owned),
        _ => None,
    };
    crate::record::clear_scalars(input);
    let (id, record, spare) = crate::record::input_parts(input);
    let mut seen_diagnoses = false;
    let mut seen_procedures = false;
    cursor.eat(b'{')?;
    if cursor.peek()? == b'}' {
        cursor.at += 1;
    } else {
        loop {
            if cursor.peek()? != b'"' {
                return None;
            }
            let key = cursor.key()?;
            cursor.eat(b':')?;
            match key {
                Key::Id => {
                    *id = if cursor.null() {
                        None
                    } else if cursor.peek()? == b'"' {
                        let text = cursor.string()?;
                        let mut owned = match id.take() {
                            Some(CaseId::Text(owned)) => owned,
                            _ => spare_id.take().unwrap_or_default(),
                        };
                        owned.clear();
                        owned.push_str(text);
                        Some(CaseId::Text(owned))
                    } else {
                        Some(CaseId::Number(cursor.integer()?))
                    };
                }
                Key::Sex => {
                    record.sex = if cursor.null() {
                        None
                    } else if cursor.peek()? == b'"' {
                        match cursor.string()?.trim() {
                            "1" | "男" => Some(Sex::Male),
                            "2" | "女" => Some(Sex::Female),
                            _ => None,
                        }
                    } else {
                        Sex::from_code(cursor.integer()?)
                    };
                }
                Key::AgeYears => record.age_years = cursor.int_field()?,
                Key::AgeDays => record.age_days = cursor.int_field()?,
                Key::BirthWeightG => record.birth_weight_g = cursor.int_field()?,
                Key::Diagnoses => {
                    cursor.codes(&mut record.diagnoses, spare)?;
                    seen_diagnoses = true;
                }
                Key::Procedures => {
                    cursor.codes(&mut record.procedures, spare)?;
                    seen_procedures = true;
                }
                Key::Other => cursor.skip_nested(0)?,
            }
            match cursor.peek()? {
                b',' => cursor.at += 1,
                b'}' => {
                    cursor.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    // Only whitespace may follow the object.
    if cursor.peek().is_some() {
        return None;
    }
    if !seen_diagnoses {
        shorten_codes(&mut record.diagnoses, spare, 0);
    }
    if !seen_procedures {
        shorten_codes(&mut record.procedures, spare, 0);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time scan finds the same end as a byte loop: a stop byte (quote,
    /// backslash, control) or a harmless one (space, DEL, UTF-8 bytes) at every position of
    /// strings of every length around the eight-byte word, after other stop bytes too.
    #[test]
    fn string_scan_agrees_with_a_byte_loop() {
        fn reference(text: &str) -> Option<&str> {
            let body = &text[1..];
            let end = body
                .bytes()
                .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
            (body.as_bytes()[end] == b'"').then(|| &body[..end])
        }
        let fillers = ["a", "é", "\u{7f}", " "];
        let stops = ["\"", "\\", "\u{0}", "\u{1f}", "\n", "", "a", "中"];
        for len in 0..20 {
            for filler in fillers {
                for stop in stops {
                    for later in ["\"", "\\", "\u{1}", ""] {
                        let text = format!("\"{}{stop}x{later}y\"", filler.repeat(len));
                        let mut cursor = Cursor {
                            bytes: text.as_bytes(),
                            text: &text,
                            at: 0,
                        };
                        assert_eq!(cursor.string(), reference(&text), "{text:?}");
                    }
                }
            }
        }
        assert_eq!(string_stops(u64::from_le_bytes(*b"abcdefgh")), 0);
        assert_eq!(string_stops(u64::from_le_bytes(*b"\xff\x80\x7f ~AB|")), 0);
    }

    /// The plain path takes every reference line (so the CLI's common case never reaches
    /// serde) and plain variants of its own grammar; it gives up on what it leaves to serde.
    #[test]
    fn takes_plain_lines_and_leaves_the_rest() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/chs-drg-1.1/testcases.jsonl"
        ));
        let mut input = CaseInput::default();
        for (idx, line) in text.lines().enumerate() {
            assert!(parse_simple(line, &mut input), "line {}", idx + 1);
        }
        for plain in [
            "{}",
            " { \"id\" : 7 , \"diagnoses\" : [ ] } \n",
            r#"{"sex": "女", "age_years": -3, "x": [1, {"y": [true, false, null, -0.5e+3]}]}"#,
        ] {
            assert!(parse_simple(plain, &mut input), "{plain}");
        }
        for left in [
            "",
            "[]",
            "{} x",
            r#"{"id": "a\\b"}"#,
            r#"{"age_years": "40"}"#,
            r#"{"age_years": 40.0}"#,
            r#"{"age_years": -0}"#,
            r#"{"age_years": 012}"#,
            r#"{"age_years": 9223372036854775808}"#,
            r#"{"diagnoses": "A00.000"}"#,
            r#"{"diagnoses": [1]}"#,
            r#"{"x": 01}"#,
            r#"{"x": 1.}"#,
            r#"{"x": tru}"#,
            "{\"x\": \"a\u{1}b\"}",
            r#"{"id": 1,}"#,
        ] {
            assert!(!parse_simple(left, &mut input), "{left}");
        }
        let too_many = format!(r#"{{"diagnoses": [{}]}}"#, vec![r#""A""#; 257].join(","));
        assert!(!parse_simple(&too_many, &mut input));
        let deep = format!(r#"{{"x": {}{}}}"#, "[".repeat(70), "]".repeat(70));
        assert!(!parse_simple(&deep, &mut input));
    }
}
