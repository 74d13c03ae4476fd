//! Signed checkpoints (spec data-authorization.md §9.4, §9.5) in the C2SP signed-note and
//! tlog-checkpoint text formats, with SM2 in place of Ed25519.
//!
//! A checkpoint body is three lines: the log's origin, the tree size in decimal, the root hash in
//! standard base64. A note is the body, an empty line, then signature lines
//! `— <key name> <base64(key id ‖ signature)>`. The key id is the first 4 bytes of
//! SM3(key name ‖ "\n" ‖ type byte ‖ 65-byte public key). Two type bytes are ours (C2SP assigns
//! none to SM2): [`LOG_SIGNATURE_TYPE`] for the log's signature over the body, and
//! [`COSIGNATURE_TYPE`] for a witness cosignature in the C2SP tlog-cosignature shape, which signs
//! `"cosignature/v1\ntime <seconds>\n" ‖ body` and carries the 8-byte big-endian time before the
//! signature.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use yibao_gm::{sign, verify, Hash, Signature, SigningKey, VerifyingKey, SIGNATURE_LEN};

use crate::LogError;

/// Type byte of the log's SM2 signature over a checkpoint body (our own; not C2SP-assigned).
pub const LOG_SIGNATURE_TYPE: u8 = 0x81;
/// Type byte of a witness's timestamped SM2 cosignature (our own; not C2SP-assigned).
pub const COSIGNATURE_TYPE: u8 = 0x82;
/// Most signature lines read from one note (the log's, the witnesses', and some unknown ones).
pub const NOTE_SIGNATURES_MAX: usize = 32;
/// Longest note read, in bytes.
pub const NOTE_BYTES_MAX: usize = 16 * 1024;

const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A checkpoint: the log's size and root at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name, e.g. `yibao.example.gov.cn/access-log/v1`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Root hash of those leaves.
    pub root: Hash,
}

impl Checkpoint {
    /// The body text that is signed: origin, size and base64 root, each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// The checkpoint in a body; refuses extension lines and non-canonical numbers or base64.
    pub fn parse_body(body: &str) -> Result<Self, LogError> {
        let format = |reason: &str| LogError::CheckpointFormat {
            reason: reason.to_string(),
        };
        let Some(lines) = body.strip_suffix('\n') else {
            return Err(format("the body must end with a newline"));
        };
        let lines: Vec<&str> = lines.split('\n').collect();
        if lines.len() != 3 {
            return Err(format(
                "the body must be exactly 3 lines: origin, size, root",
            ));
        }
        let origin = lines[0];
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(format(
                "line 1 (origin) is empty or holds control characters",
            ));
        }
        let size_text = lines[1];
        let canonical = size_text == "0" || !size_text.starts_with('0');
        let size = match size_text.parse::<u64>() {
            Ok(size) if canonical && size_text.bytes().all(|b| b.is_ascii_digit()) => size,
            _ => {
                return Err(format(
                    "line 2 (size) is not a decimal number without leading zeros",
                ))
            }
        };
        let root: Hash = BASE64
            .decode(lines[2])
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| format("line 3 (root) is not the base64 of 32 bytes"))?;
        if BASE64.encode(root) != lines[2] {
            return Err(format("line 3 (root) is not canonical base64"));
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

/// A private key with its note name and key id, for signing checkpoints or cosigning them.
#[derive(Clone, Debug)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: [u8; 4],
}

/// A public key with its note name and key id, for checking a signature line.
#[derive(Clone, Debug)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    key_id: [u8; 4],
}

fn note_key_id(name: &str, signature_type: u8, key: &VerifyingKey) -> [u8; 4] {
    let digest =
        yibao_gm::hash_parts(&[name.as_bytes(), b"\n", &[signature_type], &key.to_bytes()]);
    [digest[0], digest[1], digest[2], digest[3]]
}

fn check_key_name(name: &str) -> Result<(), LogError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(LogError::KeyName {
            name: name.to_string(),
        });
    }
    Ok(())
}

impl NoteSigner {
    /// The log's signer; its name is the log's origin.
    pub fn log(origin: &str, key: SigningKey) -> Result<Self, LogError> {
        Self::new(origin, key, LOG_SIGNATURE_TYPE)
    }

    /// A witness's signer.
    pub fn witness(name: &str, key: SigningKey) -> Result<Self, LogError> {
        Self::new(name, key, COSIGNATURE_TYPE)
    }

    fn new(name: &str, key: SigningKey, signature_type: u8) -> Result<Self, LogError> {
        check_key_name(name)?;
        let key_id = note_key_id(name, signature_type, &key.verifying_key());
        Ok(Self {
            name: name.to_string(),
            key,
            key_id,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl NoteVerifier {
    /// The verifier of the log's own signature; its name is the log's origin.
    pub fn log(origin: &str, key: VerifyingKey) -> Result<Self, LogError> {
        Self::new(origin, key, LOG_SIGNATURE_TYPE)
    }

    /// The verifier of a witness's cosignatures.
    pub fn witness(name: &str, key: VerifyingKey) -> Result<Self, LogError> {
        Self::new(name, key, COSIGNATURE_TYPE)
    }

    fn new(name: &str, key: VerifyingKey, signature_type: u8) -> Result<Self, LogError> {
        check_key_name(name)?;
        let key_id = note_key_id(name, signature_type, &key);
        Ok(Self {
            name: name.to_string(),
            key,
            key_id,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id that signature lines by this key start with.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
}

/// One signature line of a note, not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureLine {
    /// The key name.
    pub name: String,
    /// The first 4 decoded bytes.
    pub key_id: [u8; 4],
    /// The decoded bytes after the key id.
    pub signature: Vec<u8>,
}

impl SignatureLine {
    fn to_text(&self) -> String {
        let mut bytes = self.key_id.to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, BASE64.encode(bytes))
    }
}

/// A signed note split into its body and its signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The body, ending in a newline.
    pub body: String,
    /// The signature lines in order.
    pub signatures: Vec<SignatureLine>,
}

impl SignedNote {
    /// The note's text: body, an empty line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut text = self.body.clone();
        text.push('\n');
        for line in &self.signatures {
            text.push_str(&line.to_text());
        }
        text
    }

    /// The note in `text`; signature lines are split but not checked.
    pub fn parse(text: &str) -> Result<Self, LogError> {
        let format = |reason: String| LogError::CheckpointFormat { reason };
        if text.len() > NOTE_BYTES_MAX {
            return Err(format(format!("note longer than {NOTE_BYTES_MAX} bytes")));
        }
        let Some(split) = text.find("\n\n") else {
            return Err(format(
                "no empty line between the body and the signatures".into(),
            ));
        };
        let body = &text[..split + 1];
        let Some(rest) = text[split + 2..].strip_suffix('\n') else {
            return Err(format("the note must end with a newline".into()));
        };
        let mut signatures = Vec::new();
        for (line_no, line) in rest.split('\n').enumerate() {
            let which = || format!("signature line {}", line_no + 1);
            if signatures.len() == NOTE_SIGNATURES_MAX {
                return Err(format(format!(
                    "more than {NOTE_SIGNATURES_MAX} signature lines"
                )));
            }
            let Some(line) = line.strip_prefix(SIGNATURE_PREFIX) else {
                return Err(format(format!("{} does not start with \"— \"", which())));
            };
            let Some((name, encoded)) = line.split_once(' ') else {
                return Err(format(format!(
                    "{} has no space between name and signature",
                    which()
                )));
            };
            check_key_name(name)
                .map_err(|_| format(format!("{} has an invalid key name", which())))?;
            let bytes = BASE64
                .decode(encoded)
                .map_err(|_| format(format!("{} is not base64", which())))?;
            if bytes.len() < 5 {
                return Err(format(format!(
                    "{} is shorter than a key id and a signature",
                    which()
                )));
            }
            signatures.push(SignatureLine {
                name: name.to_string(),
                key_id: [bytes[0], bytes[1], bytes[2], bytes[3]],
                signature: bytes[4..].to_vec(),
            });
        }
        Ok(Self {
            body: body.to_string(),
            signatures,
        })
    }

    /// The lines by this verifier's name and key id.
    fn lines_by<'a>(&'a self, key: &'a NoteVerifier) -> impl Iterator<Item = &'a SignatureLine> {
        self.signatures
            .iter()
            .filter(move |line| line.name == key.name && line.key_id == key.key_id)
    }

    /// Checks the log's signature over the body.
    fn check_log_signature(&self, log: &NoteVerifier) -> Result<(), LogError> {
        let mut found = false;
        for line in self.lines_by(log) {
            found = true;
            if Signature::from_bytes(&line.signature)
                .and_then(|signature| verify(&log.key, self.body.as_bytes(), &signature))
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(match found {
            true => LogError::SignatureInvalid {
                name: log.name.clone(),
            },
            false => LogError::SignatureMissing {
                name: log.name.clone(),
            },
        })
    }

    /// The time of a valid cosignature by `witness`, if the note carries one.
    fn cosignature_time(&self, witness: &NoteVerifier) -> Result<u64, LogError> {
        let mut found = false;
        for line in self.lines_by(witness) {
            found = true;
            if line.signature.len() != 8 + SIGNATURE_LEN {
                continue;
            }
            let time = u64::from_be_bytes(line.signature[..8].try_into().expect("8 bytes"));
            let message = cosigned_message(&self.body, time);
            if Signature::from_bytes(&line.signature[8..])
                .and_then(|signature| verify(&witness.key, message.as_bytes(), &signature))
                .is_ok()
            {
                return Ok(time);
            }
        }
        Err(match found {
            true => LogError::SignatureInvalid {
                name: witness.name.clone(),
            },
            false => LogError::SignatureMissing {
                name: witness.name.clone(),
            },
        })
    }
}

fn cosigned_message(body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

/// The note text of `checkpoint` signed by the log.
pub fn sign_checkpoint(checkpoint: &Checkpoint, log: &NoteSigner) -> Result<String, LogError> {
    if checkpoint.origin != log.name {
        return Err(LogError::CheckpointOrigin {
            found: checkpoint.origin.clone(),
            expected: log.name.clone(),
        });
    }
    let body = checkpoint.body();
    let signature = sign(&log.key, body.as_bytes());
    let note = SignedNote {
        body,
        signatures: vec![SignatureLine {
            name: log.name.clone(),
            key_id: log.key_id,
            signature: signature.to_bytes().to_vec(),
        }],
    };
    Ok(note.to_text())
}

/// The checkpoint in a note, after checking the log's signature and origin. Unknown signature
/// lines (other witnesses) are ignored, as C2SP signed notes require.
pub fn open_checkpoint(note: &str, log: &NoteVerifier) -> Result<Checkpoint, LogError> {
    let note = SignedNote::parse(note)?;
    open_parsed(&note, log)
}

fn open_parsed(note: &SignedNote, log: &NoteVerifier) -> Result<Checkpoint, LogError> {
    let checkpoint = Checkpoint::parse_body(&note.body)?;
    if checkpoint.origin != log.name {
        return Err(LogError::CheckpointOrigin {
            found: checkpoint.origin,
            expected: log.name.clone(),
        });
    }
    note.check_log_signature(log)?;
    Ok(checkpoint)
}

/// A witness's cosignature line over a note's body at `time` (seconds since the Unix epoch).
/// Call it through [`crate::witness::Witness::cosign`], which first checks the log's history.
pub(crate) fn cosignature_line(body: &str, witness: &NoteSigner, time: u64) -> String {
    let signature = sign(&witness.key, cosigned_message(body, time).as_bytes());
    let mut bytes = time.to_be_bytes().to_vec();
    bytes.extend_from_slice(&signature.to_bytes());
    SignatureLine {
        name: witness.name.clone(),
        key_id: witness.key_id,
        signature: bytes,
    }
    .to_text()
}

/// Appends cosignature lines (as returned by witnesses) to a note.
pub fn add_cosignatures(note: &str, lines: &[String]) -> String {
    let mut text = note.to_string();
    for line in lines {
        text.push_str(line);
    }
    text
}

/// Who must have signed a checkpoint: the log, and at least `quorum` of `witnesses`.
#[derive(Clone, Debug)]
pub struct TrustPolicy {
    /// The log's key.
    pub log: NoteVerifier,
    /// The witnesses' keys.
    pub witnesses: Vec<NoteVerifier>,
    /// How many distinct witnesses must have cosigned (the spec asks for 2).
    pub quorum: usize,
}

/// A checkpoint the log signed and enough witnesses cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The witnesses whose cosignature verified, with its time.
    pub cosigned_by: Vec<(String, u64)>,
}

/// The checkpoint in a note after checking the log's signature and the witness quorum.
pub fn open_witnessed(note: &str, policy: &TrustPolicy) -> Result<WitnessedCheckpoint, LogError> {
    let note = SignedNote::parse(note)?;
    let checkpoint = open_parsed(&note, &policy.log)?;
    let cosigned_by: Vec<(String, u64)> = policy
        .witnesses
        .iter()
        .filter_map(|witness| {
            note.cosignature_time(witness)
                .ok()
                .map(|time| (witness.name.clone(), time))
        })
        .collect();
    if cosigned_by.len() < policy.quorum {
        return Err(LogError::QuorumNotMet {
            found: cosigned_by.len(),
            required: policy.quorum,
        });
    }
    Ok(WitnessedCheckpoint {
        checkpoint,
        cosigned_by,
    })
}
