//! The open-loop scheduler against a tiny local server that answers every request after a fixed
//! delay: chains start on their schedule whatever the answers' speed, and a chain that had to
//! wait for a free slot counts the wait in its first request's latency.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use yibao_loadgen::summary::{max_micros, quantile_micros};
use yibao_loadgen::{
    hospital_price_micro, run_open_loop, Chaos, Item, ItemKind, LoadConfig, Mix, OpenLoop, Patient,
    Population, Site, Summary,
};

/// A server that answers each request `delay` after it arrived and notes when each 2201 came.
struct SlowServer {
    addr: String,
    registrations: Arc<Mutex<Vec<Instant>>>,
}

impl SlowServer {
    async fn start(delay: Duration) -> SlowServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let registrations = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&registrations);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(stream, delay, Arc::clone(&seen)));
            }
        });
        SlowServer {
            addr,
            registrations,
        }
    }
}

/// Reads what has arrived (tokio's `net` alone, without the `io-util` extension traits).
async fn read_some(stream: &TcpStream, buffer: &mut [u8]) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buffer) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

/// Writes all of `bytes`.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One keep-alive connection: read a request (head and `content-length` body), wait, answer.
async fn serve(stream: TcpStream, delay: Duration, seen: Arc<Mutex<Vec<Instant>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            match read_some(&stream, &mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|value| value.trim().parse().unwrap())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            match read_some(&stream, &mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let infno = request["infno"].as_str().unwrap_or("").to_owned();
        let answer = match infno.as_str() {
            // The sign-in before the run is answered at once.
            "9001" => r#"{"infcode":0,"output":{"signinoutb":{"sign_no":"S1"}}}"#,
            "2201" => {
                seen.lock().unwrap().push(Instant::now());
                r#"{"infcode":0,"output":{"data":{"mdtrt_id":"M1"}}}"#
            }
            // Refusing the fees ends the chain: the simulator then cancels the visit (2205, 2202).
            "2204" => r#"{"infcode":-1,"err_msg":"the test server takes no fees"}"#,
            _ => r#"{"infcode":0,"output":null}"#,
        };
        if infno != "9001" {
            tokio::time::sleep(delay).await;
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if write_all(&stream, response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn population() -> Arc<Population> {
    let items = ["X01", "X02", "0011", "C01"]
        .iter()
        .map(|code| Item {
            med_list_codg: (*code).into(),
            chrgitm_lv: "01".into(),
            pric_micro: hospital_price_micro(code, ItemKind::of_code(code), None),
            kind: ItemKind::of_code(code),
        })
        .collect();
    let patient = Patient {
        psn_no: "P1".into(),
        certno: "140500199001010011".into(),
        psn_name: String::new(),
        insutype: "390".into(),
        psn_type: "1501".into(),
        insuplc_admdvs: "140500".into(),
        age: 40,
        chronic: None,
        weight_permille: 1,
        has_account: false,
        bound: false,
        filed_region: None,
    };
    let site = Site {
        fixmedins_code: "H14050000001".into(),
        fixmedins_name: "h".into(),
        hi_setl_lv: 1,
        admdvs: "140500".into(),
        access_key: "a".into(),
        secret_key: "s".into(),
        pharmacy: false,
    };
    Arc::new(Population::new(vec![patient], vec![site], items, "140500".into()).unwrap())
}

async fn run(server: &SlowServer, duration: Duration, open: OpenLoop) -> Summary {
    let config = LoadConfig {
        duration,
        visits_max: None,
        concurrency: 1,
        mix: "outpatient".parse::<Mix>().unwrap(),
        outpatient_lines: Some(3),
        chaos: Chaos::none(),
        auth: false,
        seed: 7,
        plant: Arc::new(yibao_loadgen::Plant::none()),
        audit3102: None,
    };
    run_open_loop(&server.addr, population(), config, open)
        .await
        .unwrap()
}

fn millis(micros: u64) -> u64 {
    micros / 1000
}

/// Ten chains due every 20 ms, one slot, 20 ms per answer: each chain takes five answers
/// (2201, 2203, the refused 2204, 2205, 2202), so chain k starts at 100k ms or later instead of
/// 20k ms. Its 2201 counts from 20k ms (at least 80k + 20 ms); its 2203 from the 2201's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_waiting_for_a_slot_counts_the_wait_from_its_intended_start() {
    let server = SlowServer::start(Duration::from_millis(20)).await;
    let open = OpenLoop {
        rate_per_s: 50,
        in_flight_max: 1,
    };
    let summary = run(&server, Duration::from_millis(200), open).await;
    let report = summary.open_loop.clone().unwrap();
    assert_eq!(report.chains_scheduled, 10);
    assert_eq!(report.queued_starts, 9, "{report:?}");
    // The nine queued chains are late; the first one too when the machine is busy.
    assert!((9..=10).contains(&report.late_starts), "{report:?}");
    assert_eq!(report.in_flight_peak, 1);
    assert!(summary.elapsed >= Duration::from_millis(1_000));
    let registration = &summary.stats.latency["2201"];
    assert_eq!(registration.len(), 10);
    // Sent when the slot came free, each 2201 took about 20 ms; counted from the schedule, the
    // median is about 340 ms and the last about 740 ms.
    assert!(
        millis(max_micros(registration)) >= 740,
        "{}",
        max_micros(registration)
    );
    assert!(
        millis(quantile_micros(registration, 0.5)) >= 340,
        "{}",
        quantile_micros(registration, 0.5)
    );
    // The 2203 could be sent as soon as the 2201 answered: its latency is the server's 20 ms
    // (and whatever the machine adds), not the chain's wait (which would be 760 ms or more).
    let visit_info = &summary.stats.latency["2203"];
    assert_eq!(visit_info.len(), 10);
    assert!(
        millis(quantile_micros(visit_info, 0.5)) >= 20,
        "{}",
        quantile_micros(visit_info, 0.5)
    );
    assert!(
        millis(max_micros(visit_info)) < 400,
        "{}",
        max_micros(visit_info)
    );
    let json = summary.to_json();
    assert_eq!(json["mode"], "open");
    assert_eq!(json["open_loop"]["target_chains_per_s"], 50);
    assert_eq!(json["open_loop"]["queued_starts"], 9);
    assert!(json["latency"]["2201"]["p999_ms"].as_f64().unwrap() >= 740.0);
}

/// Thirty chains due every 10 ms against a server that takes 100 ms per answer (500 ms a
/// chain): they start on schedule, many in flight at once, instead of waiting for answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_start_on_schedule_however_slow_the_answers() {
    let server = SlowServer::start(Duration::from_millis(100)).await;
    let open = OpenLoop {
        rate_per_s: 100,
        in_flight_max: 64,
    };
    let summary = run(&server, Duration::from_millis(300), open).await;
    let report = summary.open_loop.clone().unwrap();
    assert_eq!(report.chains_scheduled, 30);
    assert_eq!(report.queued_starts, 0, "{report:?}");
    // Each chain is in flight for 500 ms and a new one starts every 10 ms.
    assert!(report.in_flight_peak >= 20, "{report:?}");
    let arrivals = server.registrations.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 30);
    // The registrations reached the server over the 290 ms of the schedule, not at once and not
    // one answer (500 ms) apart.
    let spread = *arrivals.iter().max().unwrap() - *arrivals.iter().min().unwrap();
    assert!(
        spread >= Duration::from_millis(250) && spread < Duration::from_millis(1_000),
        "{spread:?}"
    );
    let registration = &summary.stats.latency["2201"];
    assert_eq!(registration.len(), 30);
    assert!(millis(quantile_micros(registration, 0.5)) >= 100);
    let json = summary.to_json();
    assert_eq!(json["mode"], "open");
    assert_eq!(json["open_loop"]["chains_scheduled"], 30);
}
