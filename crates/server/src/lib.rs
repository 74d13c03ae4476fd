//! `yibao-server`: the national hospital interface (国家医保定点医药机构接口) over HTTP.
//!
//! Hospitals and pharmacies `POST` a JSON envelope (spec §2) to
//! `/fsi/api/rsfComIfsService/callService` or one of the per-service aliases of §1.1. A request
//! goes through, in order: the gateway signature ([`auth`], HTTP 401 on failure), the body limit,
//! the envelope ([`envelope`]), the transaction's input nodes ([`wire::input`]), the
//! [`backend::Backend`] (the store), and the output nodes ([`wire::output`]). Every failure is an
//! [`AppError`], turned into a response in one place ([`respond_error`]).

pub mod audit;
pub mod auth;
pub mod backend;
pub mod clearing;
pub mod envelope;
pub mod error;
pub mod files;
pub mod infno;
pub mod inventory;
pub mod latency;
pub mod limits;
pub mod region;
pub mod setl_list;
pub mod setl_list_status;
pub mod store_backend;
pub mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::NaiveDateTime;
use http_body_util::BodyExt as _;

use crate::auth::{Credential, GatewayHeaders, KeyRing};
pub use crate::backend::Backend;
use crate::backend::Meta;
use crate::envelope::{GatewayError, ReducedError, ResponseEnvelope};
pub use crate::error::AppError;
use crate::infno::{Infno, CALL_SERVICE_PATH};
use crate::limits::{BODY_BYTES_MAX, CONCURRENT_REQUESTS_MAX, REQUEST_TIMEOUT_MS};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port (see [`RunningServer::addr`]).
    pub addr: SocketAddr,
    /// Whether the gateway signature of §1.2 is required (off only for the demo).
    pub auth: bool,
    /// The receiving platform's region, the first six digits of every `inf_refmsgid` (a
    /// provincial platform answers with its province, §6 V1); `None` answers with the calling
    /// institution's region.
    pub receiver_admdvs: Option<String>,
    /// What happens to a message without a valid sign-in (9001) of the day (the region file's
    /// `[interface] sign_in`, see [`region`]).
    pub sign_in: SignInRule,
    /// What a severity-1 smart-audit finding on a bill does at 2206/2207 and 2303/2304 (the
    /// region file's `[audit] severity_1`, see [`region`]).
    pub audit_gate: yibao_store::audit::AuditGate,
    /// Until which day of the next month a month's settlement lists may be corrected or change
    /// status (the region file's `[setl_list] deadline_day`, see [`region`]).
    pub setl_list_deadline: yibao_store::setl_list_status::SetlListDeadline,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth: true,
            receiver_admdvs: None,
            sign_in: SignInRule::Count,
            audit_gate: yibao_store::audit::AuditGate::Warn,
            setl_list_deadline: Default::default(),
        }
    }
}

/// What the server does with a message (other than 9001/9002) whose envelope `sign_no` is not an
/// open sign-in (9001) of the sending institution made today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRule {
    /// Refuse it (`infcode -1`, `sign_no: …`), as the spec says: "签到之后才能调用其他交易".
    Require,
    /// Serve it and count it per institution and day ([`RunningServer::unsigned_calls`], and a
    /// log line at the first such call and at every tenfold count). Real clients send `sign_no`
    /// `"null"`, so this is the default.
    Count,
}

/// Messages served without a valid sign-in, per institution, for the current day only.
#[derive(Debug, Default)]
struct UnsignedTally {
    day: std::sync::Mutex<(Option<chrono::NaiveDate>, HashMap<String, u64>)>,
}

impl UnsignedTally {
    /// Counts one call of `fixmedins_code` on `date` and returns its count of the day.
    fn count(&self, fixmedins_code: &str, date: chrono::NaiveDate) -> u64 {
        let mut day = self.day.lock().expect("tally lock poisoned");
        if day.0 != Some(date) {
            *day = (Some(date), HashMap::new());
        }
        let n = day.1.entry(fixmedins_code.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    fn get(&self, fixmedins_code: &str) -> u64 {
        let day = self.day.lock().expect("tally lock poisoned");
        day.1.get(fixmedins_code).copied().unwrap_or(0)
    }
}

/// The region of an `inf_refmsgid` when neither the configuration nor the institution gives one
/// (an institution unknown to a server without the gateway, answered for a query).
const UNKNOWN_ADMDVS: &str = "000000";

/// A server running on a tokio task.
pub struct RunningServer {
    addr: SocketAddr,
    unsigned: Arc<UnsignedTally>,
    latency: Arc<latency::LatencyBook>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The bound address (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Messages of `fixmedins_code` served today without a valid sign-in (under
    /// [`SignInRule::Count`]).
    pub fn unsigned_calls(&self, fixmedins_code: &str) -> u64 {
        self.unsigned.get(fixmedins_code)
    }

    /// Time at the server per transaction since it started.
    pub fn latency(&self) -> Arc<latency::LatencyBook> {
        self.latency.clone()
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        // The receiver is gone only if the server already ended; waiting on the task says why.
        let _ = self.shutdown.send(());
        self.task.await??;
        Ok(())
    }

    /// Waits until the server ends (it runs until [`RunningServer::shutdown`] or an I/O error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let Self { shutdown, task, .. } = self;
        let result = task.await;
        drop(shutdown);
        result??;
        Ok(())
    }
}

/// Binds `config.addr` and serves `backend` on a tokio task. With `config.auth`, the
/// institutions' keys are read from the backend once, here.
pub async fn spawn<B: Backend>(backend: B, config: ServerConfig) -> anyhow::Result<RunningServer> {
    spawn_with(backend, config, Router::new()).await
}

/// [`spawn`] with `extra` routes served on the same listener beside the national interface
/// (the staff API under `/api/v1`); their paths must not overlap the interface's.
pub async fn spawn_with<B: Backend>(
    backend: B,
    config: ServerConfig,
    extra: Router,
) -> anyhow::Result<RunningServer> {
    let unsigned = Arc::new(UnsignedTally::default());
    let latency = Arc::new(latency::LatencyBook::default());
    let router = router(backend, &config, unsigned.clone(), latency.clone())
        .await?
        .merge(extra);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    // Answers are written in one piece; without Nagle's algorithm they leave at once instead of
    // waiting for the client's delayed acknowledgement.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(%err, "could not set TCP_NODELAY");
        }
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
    });
    tracing::info!(%addr, auth = config.auth, "serving the national interface");
    Ok(RunningServer {
        addr,
        unsigned,
        latency,
        shutdown,
        task,
    })
}

/// The router with every path of §1.1, for in-process use (tests call it with `oneshot`).
/// The institutions' keys and regions are read from the backend once, here.
pub async fn app<B: Backend>(backend: B, config: &ServerConfig) -> anyhow::Result<Router> {
    router(
        backend,
        config,
        Arc::new(UnsignedTally::default()),
        Arc::new(latency::LatencyBook::default()),
    )
    .await
}

async fn router<B: Backend>(
    backend: B,
    config: &ServerConfig,
    unsigned: Arc<UnsignedTally>,
    latency: Arc<latency::LatencyBook>,
) -> anyhow::Result<Router> {
    if let Some(admdvs) = &config.receiver_admdvs {
        anyhow::ensure!(
            admdvs.len() == 6 && admdvs.bytes().all(|b| b.is_ascii_digit()),
            "the receiver region `{admdvs}` is not a 6-digit region code"
        );
    }
    let institutions = backend
        .institutions()
        .await
        .map_err(|err| anyhow::anyhow!("reading the institutions: {err}"))?;
    let regions = institutions
        .iter()
        .map(|institution| {
            (
                institution.fixmedins_code.clone(),
                institution.admdvs.clone(),
            )
        })
        .collect();
    let keys = if config.auth {
        let mut keys = KeyRing::default();
        for institution in institutions
            .into_iter()
            .filter(|institution| institution.active)
        {
            keys.insert(
                institution.access_key,
                Credential {
                    fixmedins_code: institution.fixmedins_code,
                    secret_key: institution.secret_key,
                },
            );
        }
        Some(keys)
    } else {
        None
    };
    let state = Arc::new(AppState {
        backend,
        keys,
        regions,
        receiver_admdvs: config.receiver_admdvs.clone(),
        sign_in: config.sign_in,
        audit_gate: config.audit_gate,
        setl_list_deadline: config.setl_list_deadline,
        unsigned,
        latency,
        serial: AtomicU64::new(0),
        permits: tokio::sync::Semaphore::new(CONCURRENT_REQUESTS_MAX),
    });
    let mut router = Router::new()
        .route(
            CALL_SERVICE_PATH,
            post(|State(state), headers, body| handle(state, PathInfno::None, headers, body)),
        )
        .route(
            &format!("{CALL_SERVICE_PATH}/{{infno}}"),
            post(|State(state), Path(code): Path<String>, headers, body| {
                handle(state, PathInfno::Code(code), headers, body)
            }),
        );
    for (path, infno) in Infno::aliases() {
        router = router.route(
            path,
            post(move |State(state), headers, body| {
                handle(state, PathInfno::Alias(infno), headers, body)
            }),
        );
    }
    Ok(router.with_state(state))
}

/// What the path says about the transaction.
enum PathInfno {
    /// The single endpoint: the body decides.
    None,
    /// `callService/{infno}`.
    Code(String),
    /// A per-service alias.
    Alias(Infno),
}

struct AppState<B> {
    backend: B,
    /// `None` when authentication is off.
    keys: Option<KeyRing>,
    /// Each institution's region (医保区划), by `fixmedins_code`.
    regions: std::collections::HashMap<String, String>,
    /// [`ServerConfig::receiver_admdvs`].
    receiver_admdvs: Option<String>,
    sign_in: SignInRule,
    audit_gate: yibao_store::audit::AuditGate,
    setl_list_deadline: yibao_store::setl_list_status::SetlListDeadline,
    unsigned: Arc<UnsignedTally>,
    /// Time at the server per transaction.
    latency: Arc<latency::LatencyBook>,
    /// Serial part of `inf_refmsgid`.
    serial: AtomicU64,
    permits: tokio::sync::Semaphore,
}

/// The one clock reading of a request, in the two forms the request needs.
#[derive(Debug, Clone, Copy)]
pub struct RequestClock {
    /// Milliseconds since the Unix epoch (for the gateway window).
    pub unix_ms: i64,
    /// Beijing time (UTC+8), the time of every date in the interface.
    pub beijing: NaiveDateTime,
}

/// China Standard Time's offset from UTC, in seconds.
const BEIJING_OFFSET_SECONDS: i64 = 8 * 3600;

impl RequestClock {
    /// Reads the system clock (once per request).
    pub fn now() -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self::at_unix_ms(unix_ms)
    }

    /// The clock at a given instant.
    pub fn at_unix_ms(unix_ms: i64) -> Self {
        let beijing =
            chrono::DateTime::from_timestamp_millis(unix_ms + BEIJING_OFFSET_SECONDS * 1000)
                .unwrap_or_default()
                .naive_utc();
        Self { unix_ms, beijing }
    }

    fn stamp(&self) -> String {
        self.beijing.format("%Y%m%d%H%M%S%3f").to_string()
    }
}

async fn handle<B: Backend>(
    state: Arc<AppState<B>>,
    path: PathInfno,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let clock = RequestClock::now();
    let mut infno = None;
    let response = match serve_one(&state, &clock, path, &headers, body, &mut infno).await {
        Ok(Answer {
            file: Some(file), ..
        }) => respond_file(file),
        Ok(answer) => respond_ok(&state, &clock, &answer),
        Err(err) => respond_error(&clock, err),
    };
    state
        .latency
        .record(infno.map_or("error", Infno::code), started.elapsed());
    response
}

async fn serve_one<B: Backend>(
    state: &AppState<B>,
    clock: &RequestClock,
    path: PathInfno,
    headers: &HeaderMap,
    body: Body,
    infno: &mut Option<Infno>,
) -> Result<Answer, AppError> {
    // The gateway comes first: an unauthenticated client learns nothing about the envelope.
    let authenticated = match &state.keys {
        Some(keys) => Some(
            auth::verify(keys, &GatewayHeaders::from_headers(headers)?, clock.unix_ms)?.to_owned(),
        ),
        None => None,
    };
    let bytes = read_body(headers, body).await?;
    let envelope = envelope::parse_request(&bytes)?;
    *infno = Some(envelope.infno);
    match path {
        PathInfno::None => {}
        PathInfno::Alias(infno) if infno == envelope.infno => {}
        PathInfno::Code(code) if code == envelope.infno.code() => {}
        PathInfno::Alias(infno) => return Err(path_mismatch(infno.code(), envelope.infno)),
        PathInfno::Code(code) if Infno::parse(&code).is_none() => {
            return Err(AppError::UnknownInfno(code))
        }
        PathInfno::Code(code) => return Err(path_mismatch(&code, envelope.infno)),
    }
    check_api_name(headers, envelope.infno)?;
    if let Some(institution) = &authenticated {
        if *institution != envelope.fixmedins_code {
            return Err(AppError::field(
                "fixmedins_code",
                format!(
                    "`{}` is not the authenticated institution",
                    envelope.fixmedins_code
                ),
            ));
        }
    }
    // 就医地: the institution's own region. Another region is refused, an absent one is the
    // institution's; neither is ever stored as sent.
    let region = state.regions.get(&envelope.fixmedins_code);
    if let (Some(region), Some(sent)) = (region, &envelope.mdtrtarea_admvs) {
        if sent != region {
            return Err(AppError::field(
                "mdtrtarea_admvs",
                format!(
                    "`{sent}` is not the region of institution {} ({region})",
                    envelope.fixmedins_code
                ),
            ));
        }
    }
    let mdtrtarea_admvs = region.cloned().or_else(|| envelope.mdtrtarea_admvs.clone());
    check_sign_in(state, clock, &envelope).await?;
    let request = wire::input::request(&envelope)?;
    let declared = match &request {
        backend::Request::Write(command) => match command.as_ref() {
            yibao_store::Command::Settle(settle) => settle.declared,
            _ => None,
        },
        _ => None,
    };
    let meta = Meta {
        fixmedins_code: envelope.fixmedins_code.clone(),
        msgid: envelope.msgid.clone(),
        infno: envelope.infno,
        fingerprint: request.fingerprint(envelope.infno),
        at: clock.beijing,
        mdtrtarea_admvs: mdtrtarea_admvs.clone(),
        insuplc_admdvs: envelope.insuplc_admdvs.clone(),
        opter: envelope.opter.clone(),
        opter_name: envelope.opter_name.clone(),
    };
    // The region's audit gate is the server's setting, not part of the message: it is set after
    // the fingerprint, so a retry is the same message whatever the setting.
    let mut request = request;
    if let backend::Request::Write(command) = &mut request {
        if let yibao_store::Command::Settle(settle) = command.as_mut() {
            settle.audit_gate = state.audit_gate;
        }
    }
    setl_list_status::apply_deadline(&mut request, state.setl_list_deadline);
    let _permit = state
        .permits
        .acquire()
        .await
        .map_err(|err| AppError::Internal(err.into()))?;
    // 9102 answers with the file's bytes, not the envelope.
    if let backend::Request::Clearing(clearing::ClearingRequest::Download(download)) = &request {
        let file = state
            .backend
            .download_file(&meta.fixmedins_code, download, meta.at)
            .await
            .map_err(|err| match err {
                backend::BackendError::User { field, reason } => AppError::User { field, reason },
                backend::BackendError::Internal(err) => AppError::Internal(err),
            })?;
        return Ok(Answer {
            output: String::new(),
            warn_msg: None,
            receiver_admdvs: String::new(),
            file: Some(file),
        });
    }
    let render = |outcome: &yibao_store::Outcome| wire::output::render_stored(outcome);
    let outcome = tokio::time::timeout(
        Duration::from_millis(REQUEST_TIMEOUT_MS),
        state.backend.execute(&meta, request, &render),
    )
    .await
    .map_err(|_| {
        AppError::Internal(anyhow::anyhow!(
            "{} {} timed out",
            meta.infno.code(),
            meta.msgid
        ))
    })?
    .map_err(|err| match err {
        backend::BackendError::User { field, reason } => AppError::User { field, reason },
        backend::BackendError::Internal(err) => AppError::Internal(err),
    })?;
    let output = wire::output::into_output(outcome);
    let warn_msg = declared
        .as_ref()
        .and_then(|declared| wire::output::declared_split_warning(&output, declared));
    let receiver_admdvs = state
        .receiver_admdvs
        .clone()
        .or(mdtrtarea_admvs)
        .unwrap_or_else(|| UNKNOWN_ADMDVS.to_owned());
    Ok(Answer {
        output,
        warn_msg,
        receiver_admdvs,
        file: None,
    })
}

/// A successful answer: the output JSON text, the envelope's `warn_msg`, and the region that
/// begins its `inf_refmsgid`; or, for 9102, the file itself.
struct Answer {
    output: String,
    warn_msg: Option<String>,
    receiver_admdvs: String,
    file: Option<clearing::FileDownload>,
}

/// 9102's answer: the file's bytes as `application/octet-stream`, named in
/// `Content-Disposition` (spec §1.3).
fn respond_file(file: clearing::FileDownload) -> Response {
    let mut response = (StatusCode::OK, file.content).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    // The name is the institution's own text: only a plain ASCII name goes into the header.
    let ascii_name: String = file
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Refuses or counts a message without an open sign-in of today ([`SignInRule`]); 9001 and 9002
/// are the sign-in itself and are never checked.
async fn check_sign_in<B: Backend>(
    state: &AppState<B>,
    clock: &RequestClock,
    envelope: &envelope::RequestEnvelope<'_>,
) -> Result<(), AppError> {
    if matches!(envelope.infno, Infno::SignIn9001 | Infno::SignOut9002) {
        return Ok(());
    }
    let today = clock.beijing.date();
    let valid = match &envelope.sign_no {
        Some(sign_no) => state
            .backend
            .sign_in_valid(&envelope.fixmedins_code, sign_no, today)
            .await
            .map_err(|err| match err {
                backend::BackendError::User { field, reason } => AppError::User { field, reason },
                backend::BackendError::Internal(err) => AppError::Internal(err),
            })?,
        None => false,
    };
    if valid {
        return Ok(());
    }
    match state.sign_in {
        SignInRule::Require => Err(AppError::field(
            "sign_no",
            match &envelope.sign_no {
                Some(sign_no) => format!(
                    "`{}` is not an open sign-in (9001) of this institution today",
                    wire::scalar::truncate(sign_no, 70)
                ),
                None => "is required: sign in with 9001 first".to_owned(),
            },
        )),
        SignInRule::Count => {
            let n = state.unsigned.count(&envelope.fixmedins_code, today);
            // The first call of the day and then every tenfold count: the order of magnitude
            // without a line per call.
            if is_power_of_ten(n) {
                tracing::warn!(
                    fixmedins_code = %envelope.fixmedins_code,
                    calls_today = n,
                    "served without a valid sign-in (9001) of the day"
                );
            }
            Ok(())
        }
    }
}

/// 1, 10, 100, …
fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

fn path_mismatch(path_code: &str, infno: Infno) -> AppError {
    AppError::field(
        "infno",
        format!(
            "`{}` does not match the path's transaction {path_code}",
            infno.code()
        ),
    )
}

/// The gateway's `_api_name` header names the transaction (`2204` or `api_2204`, §1.2); when it
/// names one, it must be the envelope's. A header naming no transaction (a gateway's own service
/// name) says nothing about the message and is not compared; without authentication the header
/// may be absent.
fn check_api_name(headers: &HeaderMap, infno: Infno) -> Result<(), AppError> {
    let Some(api_name) = headers
        .get(auth::HEADER_API_NAME)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
    else {
        return Ok(());
    };
    let code = match api_name.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("api_") => &api_name[4..],
        _ => api_name,
    };
    // A transaction code: four digits, then at most two letters or digits (`2207A`, `100001`),
    // served here or not.
    let names_a_transaction = (4..=6).contains(&code.len())
        && code.bytes().take(4).all(|b| b.is_ascii_digit())
        && code.bytes().all(|b| b.is_ascii_alphanumeric());
    match names_a_transaction && !code.eq_ignore_ascii_case(infno.code()) {
        true => Err(AppError::field(
            auth::HEADER_API_NAME,
            format!(
                "`{}` names another transaction than infno `{}`",
                wire::scalar::truncate(api_name, 20),
                infno.code()
            ),
        )),
        false => Ok(()),
    }
}

/// Reads the body, refusing one over [`BODY_BYTES_MAX`] before parsing anything: by its
/// declared length when there is one, else while reading.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, AppError> {
    let too_large = || AppError::field("body", format!("larger than {BODY_BYTES_MAX} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_BYTES_MAX as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, BODY_BYTES_MAX);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(err) => Err(AppError::field("body", format!("could not be read: {err}"))),
    }
}

/// `application/json;charset=utf-8`, the content type of every envelope (§ Decisions).
const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json;charset=utf-8");

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, JSON_UTF8);
    response
}

/// The success envelope around `output` (JSON text we rendered), written in one piece.
fn respond_ok<B>(state: &AppState<B>, clock: &RequestClock, answer: &Answer) -> Response {
    let output = &answer.output;
    let stamp = clock.stamp();
    let serial = state.serial.fetch_add(1, Ordering::Relaxed) % 10_000_000_000;
    // §3: the receiver's region (6) + yyyyMMddHHmmss (14) + a 10-digit serial = 30 characters.
    let refmsgid = format!("{}{}{serial:010}", answer.receiver_admdvs, &stamp[..14]);
    let mut body = String::with_capacity(200 + output.len());
    // Every value written here but the warning is our own digits, so needs no escaping.
    body.push_str("{\"infcode\":0,\"inf_refmsgid\":\"");
    body.push_str(&refmsgid);
    body.push_str("\",\"refmsg_time\":\"");
    body.push_str(&stamp);
    body.push_str("\",\"respond_time\":\"");
    body.push_str(&stamp);
    body.push_str("\",\"err_msg\":null,\"warn_msg\":");
    match &answer.warn_msg {
        // Our own text, but it quotes amounts and field names: escaped as JSON.
        Some(warning) => body.push_str(&serde_json::Value::from(warning.as_str()).to_string()),
        None => body.push_str("null"),
    }
    body.push_str(",\"cainfo\":null,\"signtype\":null,\"output\":");
    body.push_str(output);
    body.push('}');
    json_response(StatusCode::OK, body)
}

/// Every failure becomes a response here, and only here.
pub fn respond_error(clock: &RequestClock, err: AppError) -> Response {
    match err {
        AppError::Auth(auth) => {
            let message = auth.to_string();
            let body = serde_json::to_string(&GatewayError {
                code: 401,
                message: &message,
            });
            json_response(StatusCode::UNAUTHORIZED, body.unwrap_or_default())
        }
        AppError::UnknownInfno(_) => {
            let message = err.to_string();
            let body = serde_json::to_string(&ReducedError {
                kind: "error",
                infcode: -1,
                err_msg: &message,
            });
            json_response(StatusCode::OK, body.unwrap_or_default())
        }
        AppError::User { .. } => {
            let message = err.to_string();
            json_response(StatusCode::OK, failure_envelope(clock, &message))
        }
        AppError::Internal(ref source) => {
            tracing::error!(error = %format_args!("{source:#}"), "internal error");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                failure_envelope(clock, "internal server error"),
            )
        }
    }
}

fn failure_envelope(clock: &RequestClock, message: &str) -> String {
    let stamp = clock.stamp();
    let envelope: ResponseEnvelope<'_, ()> = ResponseEnvelope {
        infcode: -1,
        inf_refmsgid: None,
        refmsg_time: &stamp,
        respond_time: &stamp,
        err_msg: Some(message),
        warn_msg: None,
        cainfo: None,
        signtype: None,
        output: None,
    };
    serde_json::to_string(&envelope).unwrap_or_default()
}
