//! The service example runs to its end against the simulator, and says what it proved.

use std::process::Command;

#[test]
fn the_service_example_runs_against_the_simulator() {
    let output = Command::new(env!("CARGO_BIN_EXE_service-example"))
        .output()
        .expect("the example starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for line in [
        "zendesk-audit-logs (action=login):",
        "zendesk-ticket-audits (every record):",
        "genesys-audits (every record):",
        "genesys-realtime (every record):",
        "NotFound -> skip",
        "Unauthenticated -> page the owner of the credentials",
        "Config -> fix the configuration",
        "three tasks on one client",
        "service example: all done",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
}
