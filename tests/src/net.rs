//! Loopback servers for the security and reliability suites: a [`Recorder`] that logs every
//! connection and request it receives (with its `Authorization` header) and answers a canned
//! response, a [`Proxy`] that forwards to an upstream (the simulator) and lets a test rewrite
//! the answers (point `links.next`, a `Location` or a `downloadUrl` somewhere else), and an
//! [`Endless`] server whose bodies never end.
//!
//! Each serves one request per connection (`connection: close`), which is all the clients
//! need, and records connections that do not speak plain HTTP (a TLS handshake from a client
//! that switched scheme) as hits too.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One connection a server received, and the request on it if it was plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Whether the connection started with an HTTP request line (a TLS handshake does not).
    pub http: bool,
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The `Host` header.
    pub host: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The whole request head as text (lossy), for messages.
    pub head: String,
}

/// An answer, as a test may rewrite it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers other than `content-length`, `connection` and `transfer-encoding`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("JSON serialises"),
        }
    }

    /// Edits the body as JSON (left alone when it is not JSON).
    pub fn edit_json(&mut self, edit: impl FnOnce(&mut serde_json::Value)) {
        if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&self.body) {
            edit(&mut value);
            self.body = serde_json::to_vec(&value).expect("JSON serialises");
        }
    }

    /// Sets (replaces) a header.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
    }

    async fn write(&self, socket: &mut TcpStream) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {} X\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        ));
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(&self.body).await?;
        socket.flush().await
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request: its [`Hit`] and body. `None` when the peer sent nothing.
async fn read_request(socket: &mut TcpStream) -> Option<(Hit, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break Some(end);
        }
        if !buffer.is_empty() && !buffer[0].is_ascii_uppercase() {
            break None;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        if buffer.len() > 1 << 20 {
            break None;
        }
    };
    if buffer.is_empty() {
        return None;
    }
    let Some(end) = head_end else {
        return Some((
            Hit {
                http: false,
                method: String::new(),
                target: String::new(),
                host: None,
                authorization: None,
                head: String::from_utf8_lossy(&buffer[..buffer.len().min(64)]).into_owned(),
            },
            Vec::new(),
        ));
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();
    let mut host = None;
    let mut authorization = None;
    let mut length = 0usize;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "host" => host = Some(value),
            "authorization" => authorization = Some(value),
            "content-length" => length = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = buffer[end + 4..].to_vec();
    while body.len() < length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some((
        Hit {
            http: true,
            method,
            target,
            host,
            authorization,
            head,
        },
        body,
    ))
}

/// A server that records everything it receives and answers every request with one reply.
pub struct Recorder {
    address: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: JoinHandle<()>,
}

impl Recorder {
    /// Listens on `127.0.0.1`, port 0.
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&hits);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                let reply = reply.clone();
                tokio::spawn(async move {
                    if let Some((hit, _)) = read_request(&mut socket).await {
                        let http = hit.http;
                        log.lock().unwrap().push(hit);
                        if http {
                            let _ = reply.write(&mut socket).await;
                        }
                    }
                });
            }
        });
        Recorder {
            address,
            hits,
            task,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every connection received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a rewrite sees of the proxy: its own port (to build same-host or other-host URLs).
#[derive(Debug, Clone, Copy)]
pub struct ProxyInfo {
    /// The proxy's port.
    pub port: u16,
    /// The number of the request (0 for the first one).
    pub index: u64,
}

type Rewrite = dyn Fn(&ProxyInfo, &Hit, &mut Reply) + Send + Sync;

/// A forwarding proxy in front of an upstream base URL, recording each request; `rewrite`
/// may change each answer before it is returned. A request whose `Host` is not
/// `127.0.0.1:PORT` (a client that followed a URL naming the proxy by another host name) or
/// that is not plain HTTP (a client that switched to TLS) is recorded as foreign.
pub struct Proxy {
    address: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `127.0.0.1`, port 0, forwarding to `upstream` (`http://127.0.0.1:1234`).
    pub async fn start(
        upstream: &str,
        rewrite: impl Fn(&ProxyInfo, &Hit, &mut Reply) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&hits);
        let upstream = upstream.trim_end_matches('/').to_string();
        let rewrite: Arc<Rewrite> = Arc::new(rewrite);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let counter = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (log, rewrite, http, upstream, counter) = (
                    Arc::clone(&log),
                    Arc::clone(&rewrite),
                    http.clone(),
                    upstream.clone(),
                    Arc::clone(&counter),
                );
                tokio::spawn(async move {
                    let Some((hit, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(hit.clone());
                    if !hit.http {
                        return;
                    }
                    let mut reply = forward(&http, &upstream, &hit, body).await;
                    let info = ProxyInfo {
                        port: address.port(),
                        index: counter.fetch_add(1, Ordering::SeqCst),
                    };
                    rewrite(&info, &hit, &mut reply);
                    let _ = reply.write(&mut socket).await;
                });
            }
        });
        Proxy {
            address,
            hits,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Every request received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The requests that did not come by the proxy's own origin `http://127.0.0.1:PORT`.
    pub fn foreign_hits(&self) -> Vec<Hit> {
        let own = format!("127.0.0.1:{}", self.port());
        self.hits()
            .into_iter()
            .filter(|hit| !hit.http || hit.host.as_deref() != Some(own.as_str()))
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(http: &reqwest::Client, upstream: &str, hit: &Hit, body: Vec<u8>) -> Reply {
    let method = reqwest::Method::from_bytes(hit.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = http.request(method, format!("{upstream}{}", hit.target));
    for line in hit.head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let lower = name.trim().to_ascii_lowercase();
            if !matches!(
                lower.as_str(),
                "host" | "content-length" | "connection" | "transfer-encoding"
            ) {
                request = request.header(name.trim(), value.trim());
            }
        }
    }
    match request.body(body).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter(|(name, _)| {
                    !matches!(
                        name.as_str(),
                        "content-length" | "connection" | "transfer-encoding"
                    )
                })
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            Reply {
                status,
                headers,
                body,
            }
        }
        Err(error) => Reply::json(
            502,
            &serde_json::json!({"error": "proxy", "description": error.to_string()}),
        ),
    }
}

/// A server whose answers never end: after the status line and `head` headers it sends
/// `chunk` forever (chunked encoding), until the client hangs up. It counts the body bytes
/// it managed to send.
pub struct Endless {
    address: SocketAddr,
    sent: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Endless {
    /// Answers every request with `status`, then `prefix`, then `chunk` repeated forever.
    pub async fn start(status: u16, prefix: &'static str, chunk: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let sent = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (total, count) = (Arc::clone(&sent), Arc::clone(&connections));
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let total = Arc::clone(&total);
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if read_request(&mut socket).await.is_none() {
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                         transfer-encoding: chunked\r\n\r\n"
                    );
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let framed = |data: &str| format!("{:x}\r\n{data}\r\n", data.len());
                    if socket.write_all(framed(prefix).as_bytes()).await.is_err() {
                        return;
                    }
                    total.fetch_add(prefix.len() as u64, Ordering::SeqCst);
                    let block = chunk.repeat((16 * 1024 / chunk.len()).max(1));
                    let frame = framed(&block);
                    while socket.write_all(frame.as_bytes()).await.is_ok() {
                        total.fetch_add(block.len() as u64, Ordering::SeqCst);
                    }
                });
            }
        });
        Endless {
            address,
            sent,
            connections,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Body bytes sent so far, over every connection.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Endless {
    fn drop(&mut self) {
        self.task.abort();
    }
}
