//! The shared request hooks: `api-version` is stripped, error bodies become JSON, bodies are
//! capped. (The tracing span is tested on its own in `tracing_span.rs`.)

use std::time::Duration;

use progenitor_client::OperationInfo;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn strip_api_version_removes_only_that_header() {
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        "http://127.0.0.1/api/v2/audit_logs".parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("api-version", "2.0.0".parse().unwrap());
    request
        .headers_mut()
        .insert("accept", "application/json".parse().unwrap());
    raw_support::strip_api_version(&mut request);
    assert!(request.headers().get("api-version").is_none());
    assert_eq!(request.headers()["accept"], "application/json");
}

async fn error_response(template: ResponseTemplate) -> reqwest::Response {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(template)
        .mount(&server)
        .await;
    let response = reqwest::get(server.uri()).await.unwrap();
    raw_support::json_error_body(response).await.unwrap()
}

#[tokio::test]
async fn an_html_error_page_becomes_json_and_keeps_status_and_headers() {
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n\
                </body>\r\n</html>\r\n";
    let response = error_response(
        ResponseTemplate::new(502)
            .insert_header("content-type", "text/html")
            .insert_header("retry-after", "7")
            .set_body_string(page),
    )
    .await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "HTTP 502 Bad Gateway");
    // The page's text on one line, for an error message that stays on one log line.
    assert_eq!(
        body["description"],
        "502 Bad Gateway 502 Bad Gateway cloudflare"
    );
    assert_eq!(body["status"], 502);
    assert_eq!(body["non_json_body"], true);
}

#[tokio::test]
async fn an_empty_error_body_becomes_json() {
    let response = error_response(ResponseTemplate::new(404)).await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "HTTP 404 Not Found");
    assert_eq!(body["description"], "");
}

#[tokio::test]
async fn a_text_error_body_is_kept_on_one_line() {
    let response = error_response(
        ResponseTemplate::new(503).set_body_string("upstream  connect error\n  or disconnect\n"),
    )
    .await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["description"], "upstream connect error or disconnect");
}

#[tokio::test]
async fn a_json_error_object_is_left_as_it_is() {
    let original = serde_json::json!({"error": "RecordNotFound", "description": "Not found"});
    let response = error_response(ResponseTemplate::new(404).set_body_json(original.clone())).await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, original);
}

#[tokio::test]
async fn a_huge_error_body_is_cut_at_the_cap() {
    let huge = "x".repeat(raw_support::MAX_ERROR_BODY_BYTES * 3);
    let response = error_response(ResponseTemplate::new(500).set_body_string(huge)).await;
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["description"].as_str().unwrap().len(), 300);
}

#[tokio::test]
async fn success_responses_are_not_touched() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json at all"))
        .mount(&server)
        .await;
    let response = reqwest::get(server.uri()).await.unwrap();
    let response = raw_support::json_error_body(response).await.unwrap();
    assert_eq!(response.text().await.unwrap(), "not json at all");
}

async fn capped_read(url: String, limit: u64) -> Result<bytes::Bytes, reqwest::Error> {
    let client = reqwest::Client::new();
    let request = client.get(url).build().unwrap();
    let info = OperationInfo {
        operation_id: "ListAuditLogs",
    };
    raw_support::with_max_body_bytes(limit, async {
        raw_support::execute_traced(&client, "zendesk", request, &info)
            .await
            .unwrap()
            .bytes()
            .await
    })
    .await
}

#[tokio::test]
async fn a_body_declared_larger_than_the_cap_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(10_000)))
        .mount(&server)
        .await;
    let error = capped_read(server.uri(), 4_096).await.unwrap_err();
    assert_eq!(
        raw_support::body_too_large(&error),
        Some(raw_support::BodyTooLarge { limit: 4_096 })
    );
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_at_the_cap() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A small send buffer keeps what the server's kernel holds out of the count below.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(64 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = socket.read(&mut request).await;
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n")
            .await
            .unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 8192, "a".repeat(8192));
        let mut sent = 0u64;
        // Endless, until the client hangs up.
        while socket.write_all(chunk.as_bytes()).await.is_ok() {
            sent += 8192;
        }
        sent
    });
    let limit = 1024 * 1024;
    let error = tokio::time::timeout(
        Duration::from_secs(30),
        capped_read(format!("http://{address}/"), limit),
    )
    .await
    .expect("the client was still reading a body past its cap")
    .unwrap_err();
    assert_eq!(
        raw_support::body_too_large(&error),
        Some(raw_support::BodyTooLarge { limit })
    );
    // A client that kept reading would keep this loop going for ever.
    let sent = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the client did not hang up on a body past its cap")
        .unwrap();
    // Past the cap, only the client's kernel receive buffer (which loopback autotunes up
    // to tcp_rmem's maximum) and the server's send buffer can hold more.
    let kernel_buffers = loopback_receive_buffer_max() + 2 * 64 * 1024;
    assert!(
        sent < limit + kernel_buffers,
        "the client kept reading: {sent} bytes sent, cap {limit}, kernel buffers {kernel_buffers}"
    );
}

/// The largest receive buffer Linux lets a TCP socket grow to (the third field of
/// `tcp_rmem`); 32 MiB where that file is not there to read.
fn loopback_receive_buffer_max() -> u64 {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_rmem")
        .ok()
        .and_then(|text| text.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(32 * 1024 * 1024)
}

#[tokio::test]
async fn bodies_within_the_cap_pass_untouched() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"audit_logs\":[]}"))
        .mount(&server)
        .await;
    let body = capped_read(server.uri(), 1_024).await.unwrap();
    assert_eq!(&body[..], b"{\"audit_logs\":[]}");
    assert_eq!(
        raw_support::max_body_bytes(),
        raw_support::DEFAULT_MAX_BODY_BYTES
    );
}
