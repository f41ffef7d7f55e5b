//! A Kafka-compatible broker for a test: `.ci/kafka-broker` installs it (once, cached under
//! `target/kafka-broker/`), [`Broker::start`] runs one on a free loopback port with its data
//! in a temporary directory, and dropping the [`Broker`] stops it.
//!
//! The broker is noida-db (see `.ci/kafka-broker` for why, and the README's Kafka section for
//! the Kafka properties it could and could not show).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running broker, stopped on drop.
pub struct Broker {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

/// The workspace's root (this crate is `tests/`).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Installs a broker with `.ci/kafka-broker [which]` (idempotent, locked) and returns its
/// binary, as the script names it.
fn install_broker(which: Option<&str>) -> PathBuf {
    let root = workspace();
    let installed = Command::new("bash")
        .arg(root.join(".ci/kafka-broker"))
        .args(which)
        .stderr(Stdio::inherit())
        .output()
        .expect("bash runs .ci/kafka-broker");
    assert!(
        installed.status.success(),
        "`.ci/kafka-broker` failed: {}",
        installed.status
    );
    let said = String::from_utf8_lossy(&installed.stdout);
    said.lines()
        .find_map(|line| line.strip_prefix("Kafka broker: "))
        .and_then(|rest| rest.rsplit_once(" ("))
        .map(|(path, _)| PathBuf::from(path))
        .unwrap_or_else(|| panic!("`.ci/kafka-broker` names no broker: {said}"))
}

/// Installs noida-db, the tests' broker, and returns its binary.
pub fn install() -> PathBuf {
    install_broker(None)
}

impl Broker {
    /// Starts a noida-db broker on a free port of 127.0.0.1 and waits until it accepts
    /// connections.
    pub fn start() -> Broker {
        let binary = install();
        Broker::spawn(|port, data| {
            let mut command = Command::new(&binary);
            command
                .args(["start", "--only", "kafka", "--host", "127.0.0.1"])
                .args(["--kafka-port", &port.to_string()])
                .arg("--data-dir")
                .arg(data.join("data"));
            command
        })
    }

    /// Starts a tansu broker (in memory) the same way: only for what noida-db cannot show
    /// (see `.ci/kafka-broker`).
    pub fn start_tansu() -> Broker {
        let binary = install_broker(Some("tansu"));
        Broker::spawn(|port, _| {
            let url = format!("tcp://127.0.0.1:{port}");
            let mut command = Command::new(&binary);
            command
                .arg("broker")
                .args(["--listener-url", &url, "--advertised-listener-url", &url])
                .args(["--storage-engine", "memory://tansu/"]);
            command
        })
    }

    fn spawn(command: impl FnOnce(u16, &std::path::Path) -> Command) -> Broker {
        let data = tempfile::tempdir().expect("a temporary directory");
        // Another process may take the port between here and the broker's bind: rare, and
        // the wait below then fails loudly.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(data.path().join("broker.log")).expect("a log file");
        let mut command = command(port, data.path());
        let binary = format!("{:?}", command.get_program());
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let mut broker = Broker {
            child,
            port,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!("the broker exited at once ({status}): {}", broker.log());
            }
            assert!(
                Instant::now() < deadline,
                "the broker did not listen on {port} within 20 s: {}",
                broker.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        broker
    }

    /// `HOST:PORT` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the broker logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._data.path().join("broker.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
