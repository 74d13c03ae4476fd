//! The boundary between the interface and the database: parsed requests in, typed outcomes out.
//!
//! The server never sends SQL. Every transaction becomes one [`Request`] (parsed, checked, amounts
//! in fen) executed by a [`Backend`] for the authenticated institution: a transaction that writes
//! is the store's own [`Command`] (one set of command types, parsed once at the edge), a query is
//! one of the other variants. The outcome is rendered into the §4 output nodes by the server.
//! `yibao-store`'s `Store` is the production backend (see `store_backend.rs`). Domain values here
//! are plain data and do not derive `Serialize`: the wire format lives only in `wire/`.

use std::future::Future;

use chrono::{NaiveDate, NaiveDateTime};
use yibao_store::{Command, ReconcileRequest, SettlementView, VisitRef};

use crate::infno::Infno;

/// Who sent a message and when: passed with every command.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The authenticated institution (the envelope's `fixmedins_code`, checked against the keys).
    pub fixmedins_code: String,
    /// The sender's message id, the idempotency key per institution.
    pub msgid: String,
    /// The transaction.
    pub infno: Infno,
    /// [`Request::fingerprint`]: equal exactly when a replay has the same content.
    pub fingerprint: [u8; 32],
    /// The request time (Beijing time), read once by the server when the request arrived.
    pub at: NaiveDateTime,
    /// 就医地医保区划: the calling institution's region (a different one in the envelope is
    /// refused); the envelope's only for an institution the server does not know (no gateway).
    pub mdtrtarea_admvs: Option<String>,
    /// 参保地医保区划 from the envelope, when sent.
    pub insuplc_admdvs: Option<String>,
    /// The operator code, when sent.
    pub opter: Option<String>,
    /// The operator name, when sent.
    pub opter_name: Option<String>,
}

/// One institution's gateway credentials as the backend stores them.
#[derive(Debug, Clone)]
pub struct InstitutionKey {
    /// 定点医药机构编号.
    pub fixmedins_code: String,
    /// The access key (AK).
    pub access_key: String,
    /// The secret key (SK).
    pub secret_key: String,
    /// Whether the institution may currently settle.
    pub active: bool,
    /// The institution's region (医保区划): every message it sends is for care here
    /// (`mdtrtarea_admvs`).
    pub admdvs: String,
}

/// Why a backend refused or failed a command.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Bad input or a refused business rule, naming the field (sent to the client).
    #[error("{field}: {reason}")]
    User {
        /// The field as the client sees it (`input.data.setl_id`, `msgid`).
        field: String,
        /// Why.
        reason: String,
    },
    /// Anything else (logged, never sent).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Turns the store's outcome of a write into the output JSON text of its transaction, so a
/// backend can keep the exact answer with the effect in one database transaction and return it
/// on a replay.
pub type Render<'a> = &'a (dyn Fn(&yibao_store::Outcome) -> String + Send + Sync);

/// What the server needs from a database.
pub trait Backend: Clone + Send + Sync + 'static {
    /// The credentials of every institution, read once at startup.
    fn institutions(
        &self,
    ) -> impl Future<Output = Result<Vec<InstitutionKey>, BackendError>> + Send;

    /// Whether `sign_no` is a sign-in (9001) of `fixmedins_code` made on `date` and not signed
    /// out (9002).
    fn sign_in_valid(
        &self,
        fixmedins_code: &str,
        sign_no: &str,
        date: NaiveDate,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Executes one request for `meta.fixmedins_code`. A transaction that writes
    /// ([`Request::Write`]) is answered as [`Outcome::Rendered`]; a second call with the same
    /// `(fixmedins_code, msgid)` and fingerprint writes nothing and returns the first answer; with
    /// a different fingerprint it is a user error naming `msgid`.
    fn execute(
        &self,
        meta: &Meta,
        request: Request,
        render: Render<'_>,
    ) -> impl Future<Output = Result<Outcome, BackendError>> + Send;

    /// 9102: the bytes of exchange file `request.file_qury_no` for its owner `fixmedins_code`
    /// while downloadable at `at`; another institution's file is reported as absent.
    fn download_file(
        &self,
        fixmedins_code: &str,
        request: &crate::clearing::Download,
        at: NaiveDateTime,
    ) -> impl Future<Output = Result<crate::clearing::FileDownload, BackendError>> + Send;
}

/// One transaction's parsed request.
#[derive(Debug, Clone)]
pub enum Request {
    /// A transaction that writes, or pre-settles (9001/9002, 2201–2208, 2301–2305, 2401–2405,
    /// 2601, 4101/4101A): the store's command, run idempotently.
    Write(Box<Command>),
    /// 1101 人员信息获取.
    PersonInfo(PersonQuery),
    /// 3201 医药机构费用结算对总账.
    Reconcile(ReconcileRequest),
    /// 5203 结算信息查询.
    QuerySettlement {
        /// 结算ID.
        setl_id: String,
        /// The visit.
        visit: VisitRef,
    },
    /// 5206 人员累计信息查询.
    QueryCumulative {
        /// 人员编号.
        psn_no: String,
        /// 累计年月 `yyyyMM` (a valid month), when sent: that month only; else the current year
        /// month by month.
        cum_ym: Option<String>,
    },
    /// 5301 人员慢特病备案查询.
    QueryChronicRecognitions {
        /// 人员编号.
        psn_no: String,
    },
    /// 4103 结算清单信息查询: the calling institution's own lists with their groups.
    QuerySetlLists(yibao_store::SetlListQuery),
    /// 3202, 3203, 3204, 9101, 9102: monthly clearing and the file exchange
    /// ([`crate::clearing`]).
    Clearing(crate::clearing::ClearingRequest),
    /// 4102 结算清单状态修改: the calling institution submits or withdraws its own list
    /// (idempotent by `msgid`).
    SetlListStatus(yibao_store::setl_list_status::StatusChangeRequest),
    /// 4104 质控结果查询: the calling institution's own lists with status and quality checks.
    QuerySetlListQc(yibao_store::setl_list_status::QcQuery),
    /// 3501–3507 进销存: the calling institution's inventory records, or a 3507 deletion
    /// (idempotent by `msgid`).
    Inventory(yibao_store::inventory::InventoryUpload),
}

impl Request {
    /// SHA-256 of the transaction code and the parsed request: two messages with the same
    /// `msgid` are "the same content" exactly when this agrees. Being taken after parsing, it
    /// does not see what the tolerances of §3A make equal (key order, whitespace, `2505.45` sent
    /// as a number or a string, `""` for absent, `input` as an object or a string, ignored keys),
    /// and it sees every value the command carries.
    pub fn fingerprint(&self, infno: Infno) -> [u8; 32] {
        use sha2::Digest as _;
        use std::fmt::Write as _;
        /// Feeds formatted text into the hash without building it in memory first.
        struct Hashing(sha2::Sha256);
        impl std::fmt::Write for Hashing {
            fn write_str(&mut self, text: &str) -> std::fmt::Result {
                self.0.update(text.as_bytes());
                Ok(())
            }
        }
        let mut hashing = Hashing(sha2::Sha256::new());
        // The derived `Debug` writes every field of the request, by name and in declaration
        // order, with exact integers for amounts: a canonical text of the parsed message.
        // Writing into a hash cannot fail.
        let _ = write!(hashing, "{}\n{self:?}", infno.code());
        hashing.0.finalize().into()
    }
}

/// 1101 query: by credential (就诊凭证), by identity document or by person number.
#[derive(Debug, Clone)]
pub struct PersonQuery {
    /// 就诊凭证类型 (`01` e-credential, `02` id card, `03` social security card); may be absent
    /// when `certno` or `psn_no` identifies the person (spec §6 V6).
    pub mdtrt_cert_type: Option<String>,
    /// 就诊凭证编号: the e-voucher token (`01`), the resident id (`02`) or the card number (`03`);
    /// read only with its type.
    pub mdtrt_cert_no: Option<String>,
    /// 卡识别码 of a social security card (`03`), when sent.
    pub card_sn: Option<String>,
    /// 人员编号, when sent (not in 表7, but clients that have it send it).
    pub psn_no: Option<String>,
    /// 人员证件类型.
    pub psn_cert_type: Option<String>,
    /// 证件号码.
    pub certno: Option<String>,
    /// 人员姓名.
    pub psn_name: Option<String>,
    /// 开始时间 (history as of), when sent.
    pub begntime: Option<NaiveDateTime>,
}

/// One transaction's result.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The output JSON text of a write, already rendered: the backend stored it with the effect
    /// (and returns the same text on a replay).
    Rendered(String),
    /// 1101: the person, and the request time their `age` is counted at.
    Person {
        /// What the store found.
        person: Box<yibao_store::PersonInfo>,
        /// The request time.
        at: NaiveDateTime,
    },
    /// 5203: the stored settlement or reversal.
    Settlement(Box<SettlementView>),
    /// 3201.
    Reconciliation {
        /// 结算经办机构.
        setl_optins: String,
        /// True when the hospital's totals agree with the ledger (对账结果 `0` 平).
        balanced: bool,
        /// 对账结果说明.
        description: String,
    },
    /// 5206.
    Cumulative(Vec<yibao_store::CumulativeRow>),
    /// 5301: the recognitions in force on the day of the message.
    ChronicRecognitions(Vec<yibao_store::ChronicRecognition>),
    /// 4103: the institution's lists (latest versions) with their groups.
    SetlLists(Vec<yibao_store::SetlListView>),
    /// 4102: the status change made (or, on a replay, made before).
    SetlListStatus(yibao_store::setl_list_status::StatusChanged),
    /// 4104: the institution's lists with status and quality checks.
    SetlListQc(Vec<yibao_store::setl_list_status::QcView>),
    /// 3501–3507: what the upload stored (or, on a replay, stored before).
    Inventory(yibao_store::inventory::InventoryStored),
}
