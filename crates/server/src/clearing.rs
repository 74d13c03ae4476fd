//! Monthly clearing and the file exchange on the interface: 3203 清算申请, 3204 撤销清算申请,
//! 9101 文件上传, 3202 对明细账 and 9102 文件下载 (spec §1.3, §4.14; our definition of 3203/3204 in
//! `docs/INTERFACE.md`): the input nodes, their conversion into the store's clearing types, how
//! each runs on the store, and the output nodes.
//!
//! 3203, 3204, 9101 and 3202 write, and are idempotent by `msgid` like every other write (the
//! store keeps the rendered answer with the effect). 3202 reads the uploaded ZIP whole and
//! compares it with the settlements before it writes its result file, so a file that does not
//! read writes nothing. 9102 answers with the file's bytes (`application/octet-stream`), not the
//! JSON envelope; the router asks [`crate::Backend::download_file`] for them.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use yibao_store::clearing::{
    ClearingApply, ClearingMonth, ClearingOutcome, ClearingWithdraw, FileKind, FileToStore,
};

use crate::backend::{BackendError, Meta, Outcome, Request};
use crate::envelope::RequestEnvelope;
use crate::error::AppError;
use crate::files;
use crate::infno::Infno;
use crate::wire::check::{amount, date, decimal, opt_amount, opt_date, opt_text, text};
use crate::wire::scalar::{Amount, Date, Decimal, Node, Opt, Text, Yuan};

/// Longest id (`file_qury_no`, `clr_appy_evt_id`): C 30.
const ID_CHARS_MAX: usize = 30;
/// Longest short code (`insutype`, `clr_type`, `setl_optins`): C 6.
const CODE_CHARS_MAX: usize = 6;
/// Longest file name (表149: C 200).
const FILENAME_CHARS_MAX: usize = 200;
/// Days one 3202 may cover: a statement period is a month; a year is the ceiling (as 3201).
const STMT_DAYS_MAX: i64 = 366;

/// A parsed clearing or file message.
#[derive(Debug, Clone)]
pub enum ClearingRequest {
    /// 3203.
    Apply(ClearingApply),
    /// 3204.
    Withdraw(ClearingWithdraw),
    /// 9101.
    Upload(Upload),
    /// 3202.
    DetailReconcile(DetailReconcile),
    /// 9102.
    Download(Download),
}

/// 9101 `fsUploadIn`.
#[derive(Clone)]
pub struct Upload {
    /// `filename`.
    pub filename: String,
    /// `in`: the file's bytes.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    /// The bytes by length and SHA-256: the request fingerprint sees every byte without a
    /// megabyte of debug text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(&self.content);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        f.debug_struct("Upload")
            .field("filename", &self.filename)
            .field("len", &self.content.len())
            .field("sha256", &hex)
            .finish()
    }
}

/// 3202 `data` (表148), amounts in fen.
#[derive(Debug, Clone)]
pub struct DetailReconcile {
    /// `setl_optins`.
    pub setl_optins: String,
    /// `file_qury_no` of the 9101 upload.
    pub file_qury_no: String,
    /// `stmt_begndate`.
    pub begndate: NaiveDate,
    /// `stmt_enddate`.
    pub enddate: NaiveDate,
    /// `clr_type`.
    pub clr_type: String,
    /// `medfee_sumamt`: must be the sum of the file's rows.
    pub medfee_sumamt_fen: i64,
    /// `fund_pay_sumamt`: must be the sum of the file's rows.
    pub fund_pay_sumamt_fen: i64,
}

/// 9102 `fsDownloadIn`.
#[derive(Debug, Clone)]
pub struct Download {
    /// `file_qury_no`.
    pub file_qury_no: String,
    /// `filename`, when sent (must then be the file's).
    pub filename: Option<String>,
}

/// A file answered by 9102.
#[derive(Debug, Clone)]
pub struct FileDownload {
    /// The file's name (for `Content-Disposition`).
    pub filename: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// `{"data": {...}}`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DataInput<T: Default> {
    data: Node<T>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApplyData {
    insutype: Opt<Text>,
    clr_type: Opt<Text>,
    setl_optins: Opt<Text>,
    clr_ym: Opt<Text>,
    begndate: Opt<Date>,
    enddate: Opt<Date>,
    medfee_sumamt: Opt<Amount>,
    fund_pay_sumamt: Opt<Amount>,
    acct_pay: Opt<Amount>,
    cash_payamt: Opt<Amount>,
    fixmedins_setl_cnt: Opt<Decimal<0>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WithdrawData {
    clr_appy_evt_id: Opt<Text>,
    /// The spelling some provinces use.
    clr_apply_evt_id: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UploadInput {
    #[serde(rename = "fsUploadIn")]
    fs_upload_in: Node<UploadData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UploadData {
    #[serde(rename = "in")]
    content: Option<FileBytes>,
    filename: Opt<Text>,
    fixmedins_code: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DownloadInput {
    #[serde(rename = "fsDownloadIn")]
    fs_download_in: Node<DownloadData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DownloadData {
    file_qury_no: Opt<Text>,
    filename: Opt<Text>,
    fixmedins_code: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DetailData {
    setl_optins: Opt<Text>,
    file_qury_no: Opt<Text>,
    stmt_begndate: Opt<Date>,
    stmt_enddate: Opt<Date>,
    medfee_sumamt: Opt<Amount>,
    fund_pay_sumamt: Opt<Amount>,
    cash_payamt: Opt<Amount>,
    fixmedins_setl_cnt: Opt<Decimal<0>>,
    clr_type: Opt<Text>,
}

/// 9101's `in`: a JSON array of bytes (0–255, or Java's signed −128–127) or a base64 string.
#[derive(Default)]
struct FileBytes(Vec<u8>);

impl<'de> Deserialize<'de> for FileBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = FileBytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of bytes or a base64 string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<FileBytes, E> {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map(FileBytes)
                    .map_err(|err| E::custom(format!("not base64: {err}")))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<FileBytes, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(value) = seq.next_element::<i64>()? {
                    let byte = match value {
                        0..=255 => value as u8,
                        -128..=-1 => (value + 256) as u8,
                        _ => {
                            return Err(serde::de::Error::custom(format!(
                                "byte {} is {value}, not in -128..=255",
                                bytes.len()
                            )))
                        }
                    };
                    if bytes.len() >= yibao_store::clearing::EXCHANGE_FILE_BYTES_MAX {
                        return Err(serde::de::Error::custom(format!(
                            "more than {} bytes",
                            yibao_store::clearing::EXCHANGE_FILE_BYTES_MAX
                        )));
                    }
                    bytes.push(byte);
                }
                Ok(FileBytes(bytes))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// Parses a clearing or file message into its request.
pub fn request(envelope: &RequestEnvelope<'_>) -> Result<Request, AppError> {
    let opter = envelope.opter.clone().unwrap_or_default();
    let opter_name = envelope.opter_name.clone().unwrap_or_default();
    let request = match envelope.infno {
        Infno::ClearingApply3203 => {
            let data = envelope.parse_input::<DataInput<ApplyData>>()?.data.0;
            ClearingRequest::Apply(apply(data, opter, opter_name)?)
        }
        Infno::ClearingWithdraw3204 => {
            let data = envelope.parse_input::<DataInput<WithdrawData>>()?.data.0;
            let id = match opt_text(&data.clr_appy_evt_id, "data", "clr_appy_evt_id", 30)? {
                Some(id) => id,
                None => text(&data.clr_apply_evt_id, "data", "clr_appy_evt_id", 30)?,
            };
            ClearingRequest::Withdraw(ClearingWithdraw {
                clr_appy_evt_id: id,
                opter,
                opter_name,
            })
        }
        Infno::FileUpload9101 => {
            let data = envelope.parse_input::<UploadInput>()?.fs_upload_in.0;
            let node = "fsUploadIn";
            let filename = text(&data.filename, node, "filename", FILENAME_CHARS_MAX)?;
            if let Some(code) = opt_text(&data.fixmedins_code, node, "fixmedins_code", 30)? {
                if code != envelope.fixmedins_code {
                    return Err(AppError::field(
                        "input.fsUploadIn.fixmedins_code",
                        format!("`{code}` is not the sending institution"),
                    ));
                }
            }
            let content = data
                .content
                .ok_or_else(|| AppError::required("input.fsUploadIn.in"))?
                .0;
            if content.is_empty() {
                return Err(AppError::field("input.fsUploadIn.in", "the file is empty"));
            }
            if content.len() > yibao_store::clearing::EXCHANGE_FILE_BYTES_MAX {
                return Err(AppError::field(
                    "input.fsUploadIn.in",
                    format!(
                        "the file has {} bytes, more than {}",
                        content.len(),
                        yibao_store::clearing::EXCHANGE_FILE_BYTES_MAX
                    ),
                ));
            }
            ClearingRequest::Upload(Upload { filename, content })
        }
        Infno::StmtDetail3202 => {
            let data = envelope.parse_input::<DataInput<DetailData>>()?.data.0;
            ClearingRequest::DetailReconcile(detail(data)?)
        }
        Infno::FileDownload9102 => {
            let data = envelope.parse_input::<DownloadInput>()?.fs_download_in.0;
            let node = "fsDownloadIn";
            if let Some(code) = opt_text(&data.fixmedins_code, node, "fixmedins_code", 30)? {
                if code != envelope.fixmedins_code {
                    return Err(AppError::field(
                        "input.fsDownloadIn.fixmedins_code",
                        format!("`{code}` is not the sending institution"),
                    ));
                }
            }
            ClearingRequest::Download(Download {
                file_qury_no: text(&data.file_qury_no, node, "file_qury_no", ID_CHARS_MAX)?,
                filename: opt_text(&data.filename, node, "filename", FILENAME_CHARS_MAX)?,
            })
        }
        other => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "{} is not a clearing transaction",
                other.code()
            )))
        }
    };
    Ok(Request::Clearing(request))
}

fn apply(data: ApplyData, opter: String, opter_name: String) -> Result<ClearingApply, AppError> {
    let node = "data";
    let month = match opt_text(&data.clr_ym, node, "clr_ym", 7)? {
        Some(ym) => ClearingMonth::parse(&ym, "clr_ym")
            .map_err(|_| AppError::field("input.data.clr_ym", format!("`{ym}` is not YYYYMM")))?,
        None => {
            let (Some(begndate), Some(enddate)) =
                (opt_date(&data.begndate), opt_date(&data.enddate))
            else {
                return Err(AppError::field(
                    "input.data.clr_ym",
                    "is required (or begndate and enddate of one calendar month)",
                ));
            };
            let month = ClearingMonth::of(begndate);
            if begndate != month.first_day() || enddate != month.last_day() {
                return Err(AppError::field(
                    "input.data.enddate",
                    format!(
                        "{begndate}..{enddate} is not one whole calendar month (clearing is monthly)"
                    ),
                ));
            }
            month
        }
    };
    Ok(ClearingApply {
        month,
        insutype: text(&data.insutype, node, "insutype", CODE_CHARS_MAX)?,
        clr_type: text(&data.clr_type, node, "clr_type", CODE_CHARS_MAX)?,
        setl_optins: text(&data.setl_optins, node, "setl_optins", CODE_CHARS_MAX)?,
        medfee_sumamt_fen: amount(&data.medfee_sumamt, node, "medfee_sumamt", true)?,
        fund_pay_sumamt_fen: amount(&data.fund_pay_sumamt, node, "fund_pay_sumamt", true)?,
        acct_pay_fen: amount(&data.acct_pay, node, "acct_pay", true)?,
        cash_payamt_fen: match data.cash_payamt.get() {
            None => None,
            Some(_) => Some(amount(&data.cash_payamt, node, "cash_payamt", true)?),
        },
        fixmedins_setl_cnt: decimal(
            &data.fixmedins_setl_cnt,
            9_999_999_999,
            node,
            "fixmedins_setl_cnt",
            true,
        )?,
        opter,
        opter_name,
    })
}

fn detail(data: DetailData) -> Result<DetailReconcile, AppError> {
    let node = "data";
    let begndate = date(&data.stmt_begndate, node, "stmt_begndate")?;
    let enddate = date(&data.stmt_enddate, node, "stmt_enddate")?;
    if enddate < begndate {
        return Err(AppError::field(
            "input.data.stmt_enddate",
            "is before stmt_begndate",
        ));
    }
    if (enddate - begndate).num_days() >= STMT_DAYS_MAX {
        return Err(AppError::field(
            "input.data.stmt_enddate",
            format!("period longer than {STMT_DAYS_MAX} days"),
        ));
    }
    // Read for their checks; the file's rows are what is compared.
    opt_amount(&data.cash_payamt, node, "cash_payamt")?;
    if data.fixmedins_setl_cnt.get().is_some() {
        decimal(
            &data.fixmedins_setl_cnt,
            9_999_999_999,
            node,
            "fixmedins_setl_cnt",
            true,
        )?;
    }
    Ok(DetailReconcile {
        setl_optins: text(&data.setl_optins, node, "setl_optins", CODE_CHARS_MAX)?,
        file_qury_no: text(&data.file_qury_no, node, "file_qury_no", ID_CHARS_MAX)?,
        begndate,
        enddate,
        clr_type: text(&data.clr_type, node, "clr_type", CODE_CHARS_MAX)?,
        medfee_sumamt_fen: amount(&data.medfee_sumamt, node, "medfee_sumamt", true)?,
        fund_pay_sumamt_fen: amount(&data.fund_pay_sumamt, node, "fund_pay_sumamt", true)?,
    })
}

/// The store's envelope of a message.
fn store_envelope(meta: &Meta) -> yibao_store::Envelope {
    yibao_store::Envelope {
        fixmedins_code: meta.fixmedins_code.clone(),
        msgid: meta.msgid.clone(),
        infno: meta.infno.code().to_owned(),
        request_hash: meta.fingerprint,
        mdtrtarea_admvs: meta.mdtrtarea_admvs.clone().unwrap_or_default(),
        now: meta.at,
    }
}

/// A store error as the client sees it (see `store_backend::backend_error`).
fn user_or_internal(err: yibao_store::StoreError, meta: &Meta) -> BackendError {
    crate::store_backend::backend_error(err, meta.infno)
}

/// Runs a clearing or file message (not 9102, see [`download`]) on the store.
pub async fn execute(
    store: &yibao_store::Store,
    meta: &Meta,
    request: ClearingRequest,
) -> Result<Outcome, BackendError> {
    let env = store_envelope(meta);
    let render = |outcome: &ClearingOutcome| render(outcome, &meta.fixmedins_code);
    let reply = match request {
        ClearingRequest::Apply(apply) => store.clearing_apply(&env, &apply, &render).await,
        ClearingRequest::Withdraw(withdraw) => {
            store.clearing_withdraw(&env, &withdraw, &render).await
        }
        ClearingRequest::Upload(upload) => {
            let file = FileToStore {
                filename: upload.filename,
                content: upload.content,
                kind: FileKind::Upload,
                balanced: None,
            };
            store.exchange_store(&env, &file, &render).await
        }
        ClearingRequest::DetailReconcile(detail) => {
            return detail_reconcile(store, meta, &env, &detail, &render).await
        }
        ClearingRequest::Download(_) => {
            return Err(BackendError::Internal(anyhow::anyhow!(
                "9102 is answered by download_file"
            )))
        }
    };
    reply
        .map(|reply| Outcome::Rendered(reply.response))
        .map_err(|err| user_or_internal(err, meta))
}

/// 3202: reads the uploaded file, compares it with the settlements, stores the result file.
async fn detail_reconcile(
    store: &yibao_store::Store,
    meta: &Meta,
    env: &yibao_store::Envelope,
    detail: &DetailReconcile,
    render: &(dyn Fn(&ClearingOutcome) -> String + Send + Sync),
) -> Result<Outcome, BackendError> {
    let err = |err| user_or_internal(err, meta);
    if let Some(response) = store.clearing_replay(env).await.map_err(err)? {
        return Ok(Outcome::Rendered(response));
    }
    let institution_region = meta.mdtrtarea_admvs.as_deref().unwrap_or_default();
    if detail.setl_optins != institution_region {
        return Err(BackendError::User {
            field: "input.data.setl_optins".into(),
            reason: format!(
                "`{}` is not the clearing agency of this institution ({institution_region})",
                detail.setl_optins
            ),
        });
    }
    let file = store
        .exchange_file(&meta.fixmedins_code, &detail.file_qury_no, meta.at)
        .await
        .map_err(err)?;
    let theirs = files::read_detail_zip(&file.content).map_err(|e| BackendError::User {
        field: "input.data.file_qury_no".into(),
        reason: format!("{}: {e}", file.filename),
    })?;
    let sum = |f: fn(&yibao_store::clearing::DetailRow) -> i64| -> i64 {
        theirs.iter().map(f).fold(0_i64, i64::saturating_add)
    };
    for (name, declared, in_file) in [
        (
            "medfee_sumamt",
            detail.medfee_sumamt_fen,
            sum(|r| r.medfee_sumamt_fen),
        ),
        (
            "fund_pay_sumamt",
            detail.fund_pay_sumamt_fen,
            sum(|r| r.fund_pay_sumamt_fen),
        ),
    ] {
        if declared != in_file {
            return Err(BackendError::User {
                field: format!("input.data.{name}"),
                reason: format!(
                    "{} but the file's rows add up to {}",
                    crate::wire::scalar::format_decimal(declared, 2),
                    crate::wire::scalar::format_decimal(in_file, 2)
                ),
            });
        }
    }
    let ours = store
        .stmt_detail_rows(
            &meta.fixmedins_code,
            detail.begndate,
            detail.enddate,
            &detail.clr_type,
            None,
        )
        .await
        .map_err(err)?;
    let results = yibao_store::clearing::compare_detail(&theirs, &ours);
    let balanced = results.iter().all(|r| r.balanced);
    let stem = file
        .filename
        .rsplit_once('.')
        .map_or(file.filename.as_str(), |(stem, _)| stem);
    let stem = crate::wire::scalar::truncate(stem, 150);
    let content =
        files::write_result_zip(&format!("{stem}_result.txt"), &results).map_err(|e| {
            BackendError::Internal(anyhow::Error::new(e).context("writing the 3202 result"))
        })?;
    let result = FileToStore {
        filename: format!("{stem}_result.zip"),
        content,
        kind: FileKind::StmtDetailResult,
        balanced: Some(balanced),
    };
    if result.content.len() > yibao_store::clearing::EXCHANGE_FILE_BYTES_MAX {
        return Err(BackendError::User {
            field: "input.data.stmt_enddate".into(),
            reason: "the result file would be too large: reconcile a shorter period".into(),
        });
    }
    store
        .exchange_store(env, &result, render)
        .await
        .map(|reply| Outcome::Rendered(reply.response))
        .map_err(err)
}

/// 9102: the file's bytes, for its owner only, while downloadable.
pub async fn download(
    store: &yibao_store::Store,
    fixmedins_code: &str,
    request: &Download,
    at: NaiveDateTime,
) -> Result<FileDownload, BackendError> {
    let file = store
        .exchange_file(fixmedins_code, &request.file_qury_no, at)
        .await
        .map_err(|err| crate::store_backend::backend_error(err, Infno::FileDownload9102))?;
    if let Some(filename) = &request.filename {
        if *filename != file.filename {
            return Err(BackendError::User {
                field: "input.fsDownloadIn.filename".into(),
                reason: format!(
                    "`{filename}` is not the name of file {}",
                    request.file_qury_no
                ),
            });
        }
    }
    Ok(FileDownload {
        filename: file.filename,
        content: file.content,
    })
}

#[derive(Serialize)]
struct ApplyOut<'a> {
    data: ApplyNode<'a>,
}

#[derive(Serialize)]
struct ApplyNode<'a> {
    clr_appy_evt_id: &'a str,
    clr_appy_stas: &'static str,
    insutype: &'a str,
    clr_type: &'a str,
    medfee_sumamt: Yuan,
    fund_pay_sumamt: Yuan,
    acct_pay: Yuan,
    cash_payamt: Yuan,
    fixmedins_setl_cnt: i64,
}

#[derive(Serialize)]
struct WithdrawOut<'a> {
    data: WithdrawNode<'a>,
}

#[derive(Serialize)]
struct WithdrawNode<'a> {
    clr_appy_evt_id: &'a str,
    clr_appy_stas: &'static str,
}

#[derive(Serialize)]
struct UploadOut<'a> {
    file_qury_no: &'a str,
    filename: &'a str,
    fixmedins_code: &'a str,
    dld_endtime: String,
}

#[derive(Serialize)]
struct DetailOut<'a> {
    fileinfo: FileInfo<'a>,
}

#[derive(Serialize)]
struct FileInfo<'a> {
    file_qury_no: &'a str,
    filename: &'a str,
    dld_endtime: String,
    stmt_rslt: &'static str,
}

/// The output JSON text of a clearing outcome.
pub fn render(outcome: &ClearingOutcome, fixmedins_code: &str) -> String {
    let time = |at: &NaiveDateTime| at.format("%Y-%m-%d %H:%M:%S").to_string();
    let result = match outcome {
        ClearingOutcome::Applied {
            clr_appy_evt_id,
            totals,
        } => serde_json::to_string(&ApplyOut {
            data: ApplyNode {
                clr_appy_evt_id,
                clr_appy_stas: "accepted",
                insutype: &totals.insutype,
                clr_type: &totals.clr_type,
                medfee_sumamt: Yuan(totals.medfee_sumamt_fen),
                fund_pay_sumamt: Yuan(totals.fund_pay_sumamt_fen),
                acct_pay: Yuan(totals.acct_pay_fen),
                cash_payamt: Yuan(totals.cash_pay_fen),
                fixmedins_setl_cnt: totals.net_count(),
            },
        }),
        ClearingOutcome::Withdrawn { clr_appy_evt_id } => serde_json::to_string(&WithdrawOut {
            data: WithdrawNode {
                clr_appy_evt_id,
                clr_appy_stas: "withdrawn",
            },
        }),
        ClearingOutcome::FileStored {
            file_qury_no,
            filename,
            dld_endtime,
            balanced: None,
        } => serde_json::to_string(&UploadOut {
            file_qury_no,
            filename,
            fixmedins_code,
            dld_endtime: time(dld_endtime),
        }),
        ClearingOutcome::FileStored {
            file_qury_no,
            filename,
            dld_endtime,
            balanced: Some(balanced),
        } => serde_json::to_string(&DetailOut {
            fileinfo: FileInfo {
                file_qury_no,
                filename,
                dld_endtime: time(dld_endtime),
                stmt_rslt: if *balanced { "0" } else { "1" },
            },
        }),
    };
    // Plain structs of strings and numbers: serialising cannot fail.
    result.expect("clearing output nodes serialise")
}
