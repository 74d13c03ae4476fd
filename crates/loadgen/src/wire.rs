//! The HTTP side: one keep-alive HTTP/1.1 client shared by all workers, the request envelope of
//! spec §2 and the parts of the response envelope of spec §3 the simulator reads.

use crate::limits::{REQUEST_TIMEOUT, RESPONSE_BYTES_MAX};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::population::Site;
use crate::sign::gateway_headers;

/// The single endpoint of spec §1.1.
pub const CALL_SERVICE_PATH: &str = "/fsi/api/rsfComIfsService/callService";

/// How a request is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// No gateway headers (auth switched off).
    Off,
    /// Correct CSB headers.
    Valid,
    /// CSB headers signed with a wrong secret (a hostile request).
    WrongSecret,
}

/// The shared HTTP client.
#[derive(Clone)]
pub struct Client {
    http: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    base: String,
}

/// One answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Bytes,
    /// Round-trip time in microseconds.
    pub micros: u64,
    /// When the whole answer had arrived.
    pub arrived: Instant,
}

/// Why no answer came back.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Connection or protocol failure.
    #[error("transport: {0}")]
    Transport(String),
    /// No answer within [`REQUEST_TIMEOUT`].
    #[error("timeout")]
    Timeout,
}

impl Client {
    /// A client for the server at `addr` (`host:port`), keeping up to `pool` idle connections.
    pub fn new(addr: &str, pool: usize) -> Client {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool)
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Client {
            http,
            base: format!("http://{addr}"),
        }
    }

    /// Posts `body` to `path` as `site`, signed as asked.
    pub async fn post(
        &self,
        path: &str,
        site: &Site,
        infno: &str,
        body: Bytes,
        signing: Signing,
    ) -> Result<Reply, CallError> {
        let mut request = Request::post(format!("{}{path}", self.base))
            .header("content-type", "application/json;charset=utf-8");
        if signing != Signing::Off {
            let secret = if signing == Signing::Valid {
                site.secret_key.as_str()
            } else {
                "not-the-secret"
            };
            for (name, value) in gateway_headers(&site.access_key, secret, infno, now_ms()) {
                request = request.header(name, value);
            }
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let started = Instant::now();
        let response = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| CallError::Transport(format!("{e:?}")))?;
            let status = response.status().as_u16();
            let body = http_body_util::Limited::new(response.into_body(), RESPONSE_BYTES_MAX)
                .collect()
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?
                .to_bytes();
            Ok::<_, CallError>((status, body))
        })
        .await
        .map_err(|_| CallError::Timeout)??;
        let arrived = Instant::now();
        let micros = u64::try_from(arrived.duration_since(started).as_micros()).unwrap_or(u64::MAX);
        Ok(Reply {
            status: response.0,
            body: response.1,
            micros,
            arrived,
        })
    }
}

/// The request envelope (spec §2) around an input node.
#[derive(Serialize)]
pub struct Envelope<'a, T: Serialize> {
    /// 交易编号.
    pub infno: &'a str,
    /// 发送方报文ID.
    pub msgid: &'a str,
    /// 就医地医保区划.
    pub mdtrtarea_admvs: &'a str,
    /// 参保地医保区划.
    pub insuplc_admdvs: &'a str,
    /// 接收方系统代码.
    pub recer_sys_code: &'a str,
    /// 设备编号.
    pub dev_no: &'a str,
    /// 设备安全信息.
    pub dev_safe_info: &'a str,
    /// 数字签名信息.
    pub cainfo: &'a str,
    /// 签名类型.
    pub signtype: &'a str,
    /// 接口版本号.
    pub infver: &'a str,
    /// 经办人类别.
    pub opter_type: &'a str,
    /// 经办人.
    pub opter: &'a str,
    /// 经办人姓名.
    pub opter_name: &'a str,
    /// 交易时间.
    pub inf_time: &'a str,
    /// 定点医药机构编号.
    pub fixmedins_code: &'a str,
    /// 定点医药机构名称.
    pub fixmedins_name: &'a str,
    /// 交易签到流水号.
    pub sign_no: &'a str,
    /// 交易输入.
    pub input: T,
}

/// Serializes an envelope for `site` with the usual operator fields, sent now.
pub fn envelope_bytes<T: Serialize>(
    site: &Site,
    infno: &str,
    msgid: &str,
    insuplc_admdvs: &str,
    sign_no: &str,
    input: T,
) -> Bytes {
    envelope_bytes_at(
        site,
        infno,
        msgid,
        insuplc_admdvs,
        sign_no,
        &local_time_text(),
        input,
    )
}

/// [`envelope_bytes`] with the sending time `inf_time` (`yyyy-MM-dd HH:mm:ss`) given, for a
/// sender whose clock is simulated.
pub fn envelope_bytes_at<T: Serialize>(
    site: &Site,
    infno: &str,
    msgid: &str,
    insuplc_admdvs: &str,
    sign_no: &str,
    inf_time: &str,
    input: T,
) -> Bytes {
    let envelope = Envelope {
        infno,
        msgid,
        mdtrtarea_admvs: &site.admdvs,
        insuplc_admdvs,
        recer_sys_code: "YBXT",
        dev_no: "",
        dev_safe_info: "",
        cainfo: "",
        signtype: "",
        infver: "V1.0",
        opter_type: "1",
        opter: "1001",
        opter_name: "收费员",
        inf_time,
        fixmedins_code: &site.fixmedins_code,
        fixmedins_name: &site.fixmedins_name,
        sign_no,
        input,
    };
    Bytes::from(serde_json::to_vec(&envelope).expect("request nodes serialize"))
}

/// The parts of a response the simulator reads.
#[derive(Debug, Deserialize)]
pub struct Answer<'a> {
    /// 交易状态码 (a number, or a string on some platforms).
    #[serde(borrow)]
    pub infcode: Option<&'a RawValue>,
    /// 错误信息.
    pub err_msg: Option<String>,
    /// 交易输出.
    #[serde(borrow)]
    pub output: Option<&'a RawValue>,
    /// The gateway's own refusal code (`{"code":401,…}`).
    pub code: Option<i64>,
}

impl Answer<'_> {
    /// Parses a body.
    pub fn parse(body: &[u8]) -> Result<Answer<'_>, String> {
        serde_json::from_slice(body).map_err(|e| format!("unreadable answer: {e}"))
    }

    /// The infcode as a number (`0` success, `-1` failure), if readable.
    pub fn infcode(&self) -> Option<i64> {
        self.infcode
            .and_then(|raw| raw.get().trim_matches('"').parse().ok())
    }

    /// The `output` text, unless absent or null.
    pub fn output(&self) -> Option<&str> {
        self.output.map(|o| o.get()).filter(|o| *o != "null")
    }
}

/// Milliseconds since the epoch (the gateway timestamp).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The current time in China (UTC+8), where hospitals stamp their messages.
pub fn local_now() -> DateTime<FixedOffset> {
    let china = FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    DateTime::from_timestamp_millis(now_ms())
        .expect("the clock is in range")
        .with_timezone(&china)
}

/// `yyyy-MM-dd HH:mm:ss` in China time.
pub fn local_time_text() -> String {
    local_now().format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_response_shapes_of_the_spec() {
        let ok = br#"{"output":{"signoutoutb":{"sign_time":"2022-01-21 14:08:37"}},"infcode":0,"err_msg":null}"#;
        let answer = Answer::parse(ok).unwrap();
        assert_eq!(answer.infcode(), Some(0));
        assert_eq!(
            answer.output(),
            Some(r#"{"signoutoutb":{"sign_time":"2022-01-21 14:08:37"}}"#)
        );
        let refused =
            r#"{"type":"error","infcode":-1,"err_msg":"FSI-FSI-交易报文不正确：未知交易编号！"}"#;
        let answer = Answer::parse(refused.as_bytes()).unwrap();
        assert_eq!(answer.infcode(), Some(-1));
        assert_eq!(answer.output(), None);
        let string_code = br#"{"infcode":"0","output":null}"#;
        assert_eq!(Answer::parse(string_code).unwrap().infcode(), Some(0));
        let gateway = r#"{"code":401,"message":"签名不一致!"}"#;
        assert_eq!(Answer::parse(gateway.as_bytes()).unwrap().code, Some(401));
    }

    #[test]
    fn the_envelope_carries_every_required_field() {
        let site = Site {
            fixmedins_code: "H14050000001".into(),
            fixmedins_name: "晋城市人民医院".into(),
            hi_setl_lv: 3,
            admdvs: "140500".into(),
            access_key: "ak".into(),
            secret_key: "sk".into(),
            pharmacy: false,
        };
        let body = envelope_bytes(
            &site,
            "2201",
            "H140500000012025",
            "140500",
            "",
            serde_json::json!({"data": {"psn_no": "1"}}),
        );
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for field in [
            "infno",
            "msgid",
            "mdtrtarea_admvs",
            "recer_sys_code",
            "infver",
            "opter_type",
            "opter",
            "opter_name",
            "inf_time",
            "fixmedins_code",
            "fixmedins_name",
            "input",
        ] {
            assert!(value.get(field).is_some_and(|v| !v.is_null()), "{field}");
        }
        assert_eq!(value["input"]["data"]["psn_no"], "1");
        assert_eq!(value["inf_time"].as_str().unwrap().len(), 19);
    }
}
