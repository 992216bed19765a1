//! `roster serve` over HTTPS: a self-signed certificate generated, printed and kept across
//! restarts; a certificate and key from files; a bad key refused at start.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::server::{Server, TestDatabase};

/// A client that trusts `pem` (and what the system trusts).
fn trusting(pem: &[u8]) -> reqwest::Client {
    let certificate = reqwest::Certificate::from_pem(pem).expect("a PEM certificate");
    reqwest::Client::builder()
        .add_root_certificate(certificate)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("https client")
}

/// The certificate the server said to trust (the line after its banner).
async fn printed_certificate(server: &Server) -> std::path::PathBuf {
    for _ in 0..100 {
        let printed = server.printed.lock().unwrap().clone();
        if let Some(line) =
            printed.iter().find_map(|l| l.strip_prefix("TLS certificate (self-signed, kept across restarts): "))
        {
            let trust = printed.iter().find(|l| l.starts_with("trust it: ")).expect("how to trust it");
            assert!(trust.contains(&format!("NODE_EXTRA_CA_CERTS={line}")), "{trust}");
            assert!(trust.contains(&format!("REQUESTS_CA_BUNDLE={line}")), "{trust}");
            return line.into();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no certificate printed: {:?}", server.printed.lock().unwrap());
}

/// A token and a user list over https, and an export whose `location` is https.
async fn works_over_https(server: &mut Server) {
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
    let created = server.create_user("tls@example.com").await;
    let users = server.get("/api/v2/users").await;
    assert_eq!(users.status, 200, "{}", users.text);
    assert_eq!(users.body[0]["user_id"], created["user_id"]);
    let reply = server.post("/api/v2/jobs/users-exports", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        let job = server.get(&format!("/api/v2/jobs/{id}")).await;
        if job.body["status"] == "completed" {
            let location = job.body["location"].as_str().unwrap();
            assert!(location.starts_with(&format!("{}/exports/", server.base)), "{location}");
            let download = server.http.get(location).send().await.unwrap();
            assert_eq!(download.status(), 200);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the export did not finish");
}

#[tokio::test]
async fn a_self_signed_certificate_is_printed_trusted_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().to_str().unwrap().to_owned();
    let args = ["--tls-self-signed", "--tls-dir", &tls_dir];
    let mut server = Server::start_with(&args).await;
    let cert = printed_certificate(&server).await;
    assert_eq!(cert.parent().unwrap(), std::fs::canonicalize(dir.path()).unwrap());
    let pem = std::fs::read(&cert).unwrap();
    // Without trusting it, the handshake fails; plain http gets no answer.
    let refused = server.http.get(format!("{}/health", server.base)).send().await;
    assert!(refused.is_err(), "{refused:?}");
    let plain = server.http.get(server.base.replacen("https://", "http://", 1) + "/health").send().await;
    assert!(plain.map_or(true, |r| !r.status().is_success()));
    server.http = trusting(&pem);
    works_over_https(&mut server).await;
    // The next start serves the same certificate.
    let mut server = server.restart(&args).await;
    assert_eq!(std::fs::read(printed_certificate(&server).await).unwrap(), pem);
    server.http = trusting(&pem);
    let users = server.get("/api/v2/users").await;
    assert_eq!(users.status, 200, "{}", users.text);
}

#[tokio::test]
async fn a_certificate_and_key_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let args = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let mut server = Server::start_with(&args).await;
    // Nothing self-signed to trust is printed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!server.printed.lock().unwrap().iter().any(|l| l.starts_with("TLS certificate")));
    server.http = trusting(generated.cert.pem().as_bytes());
    works_over_https(&mut server).await;
}

#[tokio::test]
async fn a_bad_key_file_stops_the_start_with_a_clear_error() {
    let database = TestDatabase::new().await;
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, "not a key\n").unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (other_key, missing) = (dir.path().join("other.pem"), dir.path().join("missing.pem"));
    std::fs::write(&other_key, other.signing_key.serialize_pem()).unwrap();
    let cases = [
        (&key, "cannot read the TLS private key"),
        (&missing, "cannot read the TLS private key"),
        (&other_key, "does not fit the certificate"),
    ];
    for (key, expected) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &database.url])
            .args(["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
            .env_remove("ROSTER_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .expect("roster runs");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected) && stderr.contains(key.to_str().unwrap()), "{stderr}");
        assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"), "it served");
    }
    // --tls-key without --tls-cert is refused by the command line.
    let output = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--tls-key", key.to_str().unwrap()])
        .output()
        .expect("roster runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tls-cert"));
}
