//! The real SDK and browser clients some tests drive the server with.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `tests/sdk/install.sh` put the real clients (SDKs, playwright-core), once per test
/// run: a scratch folder under `target/tmp`, never committed.
pub fn clients() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-clients");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/install.sh");
        let status = Command::new("bash")
            .arg(script)
            .arg(&dir)
            .status()
            .expect("run tests/sdk/install.sh");
        assert!(status.success(), "installing the clients failed");
        dir
    })
}

/// Runs `program script` with `env` in the clients' folder (Node finds their modules there)
/// and returns its stdout; fails the test when it fails or takes over 300 s (the browser test
/// of every page runs axe-core on some forty pages: on a loaded 2-core machine, minutes).
pub async fn run_client(program: &Path, script: &Path, env: &[(&str, &str)]) -> String {
    let mut command = tokio::process::Command::new(program);
    command
        .arg(script)
        .current_dir(clients())
        .env("NODE_PATH", clients().join("node_modules"))
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(300), command.output())
        .await
        .expect("the client finished within 300 s")
        .expect("run the client");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        output.status.success(),
        "{} failed: {stdout}\n{stderr}",
        script.display()
    );
    stdout
}
