//! HTTPS for `roster serve`: rustls (aws-lc-rs, the provider the token signer already links)
//! behind an `axum::serve` listener, so graceful shutdown and the peer address
//! (`ConnectInfo<SocketAddr>`, counted by brute-force protection and logged) work as over
//! plain TCP. The certificate comes from PEM files (`--tls-cert`, `--tls-key`) or is generated
//! once, self-signed, for the served domain, localhost and 127.0.0.1 (`--tls-self-signed`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSetting {
    /// PEM files: the certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1).
    Files { cert: PathBuf, key: PathBuf },
    /// Generated at the first start into `dir` and reused while it names the same hosts.
    SelfSigned { dir: PathBuf },
}

/// The self-signed certificate's files in their directory.
pub const SELF_SIGNED_CERT: &str = "roster-tls-cert.pem";
pub const SELF_SIGNED_KEY: &str = "roster-tls-key.pem";
const SELF_SIGNED_NAMES: &str = "roster-tls-names.txt";

/// The directory a self-signed certificate is kept in when none is given: the SQLite
/// database's, else the working directory.
pub fn default_dir(database_url: &str) -> PathBuf {
    let path = database_url.strip_prefix("sqlite://").map(|rest| rest.split('?').next().unwrap_or(rest));
    match path.map(Path::new).and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A certificate ready to serve, and the file a client should trust (self-signed only).
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    pub trust: Option<PathBuf>,
}

/// Reads (or generates) the certificate; every problem says which file and why.
pub fn load(setting: &TlsSetting, domain: &str) -> anyhow::Result<Loaded> {
    match setting {
        TlsSetting::Files { cert, key } => Ok(Loaded { config: server_config(cert, key)?, trust: None }),
        TlsSetting::SelfSigned { dir } => {
            let (cert, key) = self_signed(dir, domain)?;
            Ok(Loaded { config: server_config(&cert, &key)?, trust: Some(cert) })
        }
    }
}

fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?;
    if chain.is_empty() {
        bail!("the TLS certificate file {} holds no PEM certificate", cert.display());
    }
    let private = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!("cannot read the TLS private key {} (a PEM PKCS#8, PKCS#1 or SEC1 key)", key.display())
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .with_context(|| format!("the TLS key {} does not fit the certificate {}", key.display(), cert.display()))?;
    // axum is built without HTTP/2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The names a self-signed certificate covers: the served host (without its port), localhost
/// and the loopback addresses.
fn names(domain: &str) -> Vec<String> {
    let host = match domain.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') => host,
        _ => domain,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut names = vec![host.to_owned()];
    for name in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// The certificate and key files in `dir`, generated when missing or made for other names.
fn self_signed(dir: &Path, domain: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (cert, key, recorded) = (dir.join(SELF_SIGNED_CERT), dir.join(SELF_SIGNED_KEY), dir.join(SELF_SIGNED_NAMES));
    let names = names(domain);
    let wanted = names.join("\n");
    let current = std::fs::read_to_string(&recorded).ok();
    if cert.exists() && key.exists() && current.as_deref().map(str::trim) == Some(wanted.as_str()) {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let generated = rcgen::generate_simple_self_signed(names).context("cannot generate a TLS certificate")?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, generated.cert.pem()).with_context(|| format!("cannot write {}", cert.display()))?;
    std::fs::write(&recorded, wanted + "\n").with_context(|| format!("cannot write {}", recorded.display()))?;
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// How long a client has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener whose connections are TLS: a task accepts TCP connections and runs each
/// handshake in its own task (a slow client holds up no one); finished ones queue here.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let tls = TlsAcceptor::from(config);
        let acceptor = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: as axum's own listener, wait.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (tls, tx) = (tls.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task is gone (it only ends when aborted): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// What serves each connection, TLS or plain, with the peer's address as
/// `ConnectInfo<SocketAddr>` (as axum's `into_make_service_with_connect_info`, which it
/// implements for `TcpListener` only), and with the router of the moment: the start-up one
/// until the full one is handed over.
#[derive(Clone)]
pub struct MakeWithPeer(pub Handover);

/// The router that answers while start-up work runs (probes, metrics; 503 for the rest), and
/// the full one once it is set.
#[derive(Clone)]
pub struct Handover {
    pub starting: axum::Router,
    pub full: Arc<std::sync::OnceLock<axum::Router>>,
}

impl<L> tower::Service<axum::serve::IncomingStream<'_, L>> for MakeWithPeer
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    type Response = WithPeer;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<WithPeer, std::convert::Infallible>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: axum::serve::IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(WithPeer { routers: self.0.clone(), peer: *stream.remote_addr() }))
    }
}

/// One connection's routers, which stamp each request with the peer's address.
#[derive(Clone)]
pub struct WithPeer {
    routers: Handover,
    peer: SocketAddr,
}

impl tower::Service<axum::extract::Request> for WithPeer {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = <axum::Router as tower::Service<axum::extract::Request>>::Future;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: axum::extract::Request) -> Self::Future {
        request.extensions_mut().insert(axum::extract::ConnectInfo(self.peer));
        let mut router = self.routers.full.get().unwrap_or(&self.routers.starting).clone();
        router.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_the_port_and_add_the_loopbacks() {
        assert_eq!(names("127.0.0.1:8443"), ["127.0.0.1", "localhost", "::1"]);
        assert_eq!(names("auth.example.com"), ["auth.example.com", "localhost", "127.0.0.1", "::1"]);
        assert_eq!(names("[::1]:8443"), ["::1", "localhost", "127.0.0.1"]);
    }

    #[test]
    fn the_default_directory_is_the_databases() {
        assert_eq!(default_dir("sqlite:///var/lib/roster/r.db?mode=rwc"), PathBuf::from("/var/lib/roster"));
        assert_eq!(default_dir("sqlite://roster.db"), PathBuf::from("."));
        assert_eq!(default_dir("postgres://u@h/db"), PathBuf::from("."));
    }
}
