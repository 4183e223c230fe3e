//! [`serve_tls`]: the server over HTTPS with a required client certificate (feature `tls`), for
//! Tencent's mutual authentication of callbacks; [`TlsConfig`], what it is built from, and the
//! [`Handshake`] that runs it on each connection.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{AlertDescription, RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tower_service::Service;

use super::{BoxError, ConnectionInfo, Handshake, Limits, serve_with};

/// [`serve`](super::serve) over HTTPS: every accepted connection first completes a TLS
/// handshake with `tls`, within [`header_read_timeout`](Limits::header_read_timeout), then is
/// served as `serve` serves it (same limits, same answers). With a [`TlsConfig`] built from PEM
/// the client must present a certificate that chains to the client CA: Tencent's mutual
/// authentication of callbacks.
///
/// ```no_run
/// use tencent_chat_webhook::server::{self, Limits, TlsConfig};
/// use tencent_chat_webhook::{Handler, WebhookConfig, WebhookService};
///
/// struct MyHandler;
/// impl Handler for MyHandler {}
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = WebhookConfig::builder(1400000000).token("the console's token").build()?;
/// let webhook = WebhookService::new(config, MyHandler);
/// let tls = TlsConfig::from_pem_files(
///     "/etc/webhook/fullchain.pem",        // this server's certificate, then its intermediates
///     "/etc/webhook/privkey.pem",          // its private key
///     "/etc/webhook/TencentQQAuthCA.crt", // Tencent's CA, from the Chat console's docs
/// )?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
/// server::serve_tls(listener, tls, webhook, Limits::default(), async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await;
/// # Ok(())
/// # }
/// ```
///
/// A handshake that fails (no client certificate, one from another CA, no common TLS version,
/// not TLS at all) or does not finish in time closes the connection before any HTTP, so its
/// client gets no HTTP answer. Failures are logged at `debug` (`handshake failed`, with the
/// peer's address and rustls's reason). Two kinds that usually mean a mistake in the set-up are
/// also logged at `warn`, at most once a minute: a client certificate that does not verify
/// (the client CA file is not Tencent's, or Tencent changed its CA), and a client that refuses
/// this server's certificate (an incomplete chain, or one that Tencent's client does not trust).
/// No log line holds a key, a certificate or a byte of the traffic.
pub async fn serve_tls<S, B, F>(
    listener: TcpListener,
    tls: TlsConfig,
    service: S,
    limits: Limits,
    shutdown: F,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    let handshake = TlsHandshake {
        acceptor: TlsAcceptor::from(tls.config),
        warned: Default::default(),
    };
    serve_with(listener, handshake, service, limits, shutdown).await;
}

/// The TLS side of [`serve_tls`]: this server's certificate and key, and the CA a client's
/// certificate must chain to.
///
/// # Tencent's mutual authentication
///
/// In the Chat console, callbacks can be set to present a client certificate (Tencent's pages
/// 269/2713 and 269/2714, and 1047/34379 and 1047/34380 in English). The server verifies it
/// against Tencent's CA certificate, `TencentQQAuthCA.crt`, which those pages link to as a zip
/// download. Tencent documents only web-server set-ups (Nginx `ssl_verify_client on` with
/// `ssl_client_certificate`, Apache `SSLVerifyClient require` with `SSLCACertificateFile`);
/// [`from_pem_files`](Self::from_pem_files) is the same for this server:
///
/// - **A client certificate is required**, and must chain to a certificate of the client CA
///   file (the only roots trusted for clients; the system's are not used), be valid now, and,
///   if it lists its purposes (extended key usage), list client authentication, as OpenSSL
///   requires in Nginx and Apache. A client without one, or with one from another CA, fails
///   the handshake.
/// - **The chain alone is checked, not a name.** Tencent does not document its client
///   certificate's subject or SAN, its intermediates or how it is renewed, so a check of a
///   name could refuse Tencent's next certificate; any certificate that
///   `TencentQQAuthCA.crt` issued is taken as Tencent's callback client. A handler that wants
///   more can pin the certificate it sees
///   ([`RequestContext::peer_certificate`](crate::RequestContext::peer_certificate)).
/// - **TLS 1.2 and 1.3 only**, with rustls's default cipher suites (forward-secret AEAD
///   suites). Tencent's Nginx sample lists `TLSv1 TLSv1.1`, which are obsolete (RFC 8996);
///   which versions Tencent's client offers is not documented.
/// - **ALPN `h2` and `http/1.1`**: HTTP/2 or HTTP/1.1, as the client asks.
///
/// The client certificate proves that the connection comes from Tencent's backend, so that
/// nothing else can reach the URL. It does not replace the signature. The certificate is
/// Tencent's, not your app's: every Chat app's callbacks come with it, so another app whose
/// callback URL is set to yours would pass the handshake too; `Sign` proves the app's token,
/// and covers `RequestTime`, so a captured request stops working after the freshness window.
/// Keep both.
///
/// A client CA file may hold several certificates, all trusted: during a change of CA, put the
/// old one and the new one in the same file. A file holding one DER certificate (no PEM
/// armour) is taken too.
///
/// # Other set-ups
///
/// [`from_rustls`](Self::from_rustls) takes any rustls `ServerConfig`: another crypto
/// provider, certificates chosen by SNI, session tickets, or HTTPS without client
/// certificates.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
    /// Built from PEM by this crate (client certificate required), or given whole.
    from_pem: bool,
}

/// The protocol versions a [`TlsConfig`] built from PEM offers.
static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The ALPN protocols a [`TlsConfig`] built from PEM offers, the server's preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

impl TlsConfig {
    /// Reads the three PEM files and builds the configuration described on [`TlsConfig`]:
    ///
    /// - `cert_chain`: this server's certificate, then the intermediates that lead to its CA
    ///   (a `fullchain.pem`). Tencent's client must trust it: a certificate from a public CA,
    ///   or the one Tencent issues for the callback domain in the console;
    /// - `key`: its private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1
    ///   `EC PRIVATE KEY`);
    /// - `client_ca`: the CA a client's certificate must chain to: Tencent's
    ///   `TencentQQAuthCA.crt`, unzipped.
    ///
    /// The error names the file, and what is wrong with it.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
        client_ca: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let path_of = |part| match part {
            TlsPart::CertificateChain => cert_chain.as_ref(),
            TlsPart::PrivateKey => key.as_ref(),
            TlsPart::ClientCa => client_ca.as_ref(),
        };
        let read = |part| {
            let path = path_of(part);
            std::fs::read(path)
                .map_err(|e| TlsError::new(part, format!("cannot read it: {e}")).at(path))
        };
        let pem = [
            read(TlsPart::CertificateChain)?,
            read(TlsPart::PrivateKey)?,
            read(TlsPart::ClientCa)?,
        ];
        Self::from_pem(&pem[0], &pem[1], &pem[2]).map_err(|e| match e.part {
            Some(part) => e.at(path_of(part)),
            None => e,
        })
    }

    /// [`from_pem_files`](Self::from_pem_files) from the files' contents.
    ///
    /// ```
    /// use tencent_chat_webhook::server::{TlsConfig, TlsPart};
    ///
    /// let err = TlsConfig::from_pem(b"", b"", b"").unwrap_err();
    /// assert_eq!(err.part(), Some(TlsPart::CertificateChain));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "server certificate chain: no PEM certificate in it (`-----BEGIN CERTIFICATE-----`)"
    /// );
    /// ```
    pub fn from_pem(cert_chain: &[u8], key: &[u8], client_ca: &[u8]) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain = certificates(cert_chain)
            .map_err(|why| TlsError::new(TlsPart::CertificateChain, why))?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
            let why = match e {
                pem::Error::NoItemsFound => "no PEM private key in it (`-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`)".to_owned(),
                e => pem_problem(&e),
            };
            TlsError::new(TlsPart::PrivateKey, why)
        })?;
        let roots = client_roots(client_ca).map_err(|why| TlsError::new(TlsPart::ClientCa, why))?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| {
                    TlsError::new(TlsPart::ClientCa, format!("not usable as roots: {e}"))
                })?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(PROTOCOL_VERSIONS)
            .map_err(|e| TlsError::settings(format!("rustls refused TLS 1.2 and 1.3: {e}")))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| {
                let why = match e {
                    rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                        "it is not the key of the server certificate (the first certificate of the chain)".to_owned()
                    }
                    e => format!("not a key this server can use: {e}"),
                };
                TlsError::new(TlsPart::PrivateKey, why)
            })?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(TlsConfig {
            config: Arc::new(config),
            from_pem: true,
        })
    }

    /// Takes a rustls configuration as it is: its certificates, its client verifier (or none:
    /// then anyone can connect, and [`peer_certificate`](ConnectionInfo::peer_certificate) is
    /// `None`), its versions, and its ALPN protocols (set `h2` and `http/1.1` for both
    /// protocols; without ALPN a client speaks HTTP/1.1, or HTTP/2 with prior knowledge).
    ///
    /// This exposes rustls (0.23), which is not 1.0: a later rustls may change this signature
    /// in a release of this crate. Prefer [`from_pem_files`](Self::from_pem_files) where it
    /// fits.
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        TlsConfig {
            config,
            from_pem: false,
        }
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No certificate or key: just the settings that decide who gets in.
        let alpn: Vec<_> = (self.config.alpn_protocols.iter())
            .map(|p| String::from_utf8_lossy(p))
            .collect();
        let client_auth = if self.from_pem {
            "required: a certificate that chains to the client CA"
        } else {
            "as the rustls configuration says"
        };
        f.debug_struct("TlsConfig")
            .field("client_auth", &client_auth)
            .field("alpn", &alpn)
            .finish_non_exhaustive()
    }
}

/// The certificates of a PEM file, at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_problem(&e))?;
    if !certs.is_empty() {
        return Ok(certs);
    }
    Err(if pem.starts_with(b"PK\x03\x04") {
        "no PEM certificate in it: it is a zip archive (Tencent's download is one: unzip it and use the `TencentQQAuthCA.crt` inside)".to_owned()
    } else {
        "no PEM certificate in it (`-----BEGIN CERTIFICATE-----`)".to_owned()
    })
}

/// The roots of the client CA file: its PEM certificates, or the one DER certificate it is.
fn client_roots(file: &[u8]) -> Result<RootCertStore, String> {
    let certs = match certificates(file) {
        Ok(certs) => certs,
        // A DER certificate is an ASN.1 SEQUENCE; `RootCertStore::add` parses it.
        Err(_) if file.first() == Some(&0x30) => vec![CertificateDer::from(file.to_vec())],
        Err(why) => return Err(why),
    };
    let mut roots = RootCertStore::empty();
    let count = certs.len();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            format!(
                "certificate {} of {count} is not usable as a CA certificate: {e}",
                i + 1
            )
        })?;
    }
    Ok(roots)
}

/// What is wrong with a PEM file, without quoting it (it may be a key).
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no `-----END` line".to_owned(),
        pem::Error::IllegalSectionStart { .. } => "a PEM `-----BEGIN` line is malformed".to_owned(),
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64".to_owned(),
        pem::Error::Io(e) => format!("cannot read it: {e}"),
        pem::Error::NoItemsFound => "nothing in it".to_owned(),
        pem::Error::SectionTooLarge => "a PEM section is too large".to_owned(),
        _ => "not valid PEM".to_owned(),
    }
}

/// Which of [`TlsConfig`]'s inputs a [`TlsError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsPart {
    /// The server's certificate chain.
    CertificateChain,
    /// The server's private key.
    PrivateKey,
    /// The CA certificates a client's certificate must chain to.
    ClientCa,
}

impl TlsPart {
    fn as_str(self) -> &'static str {
        match self {
            TlsPart::CertificateChain => "server certificate chain",
            TlsPart::PrivateKey => "server private key",
            TlsPart::ClientCa => "client CA certificates",
        }
    }
}

/// Why a [`TlsConfig`] could not be built: which input, its file, and what is wrong with it
/// (never its contents).
#[derive(Clone, Debug)]
pub struct TlsError {
    part: Option<TlsPart>,
    path: Option<PathBuf>,
    reason: String,
}

impl TlsError {
    fn new(part: TlsPart, reason: String) -> Self {
        TlsError {
            part: Some(part),
            path: None,
            reason,
        }
    }

    fn settings(reason: String) -> Self {
        TlsError {
            part: None,
            path: None,
            reason,
        }
    }

    fn at(mut self, path: &Path) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// The input that is wrong; `None` when rustls refused the settings themselves.
    pub fn part(&self) -> Option<TlsPart> {
        self.part
    }

    /// The file that is wrong, when it was read from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(part) = self.part {
            f.write_str(part.as_str())?;
            if let Some(path) = &self.path {
                write!(f, " `{}`", path.display())?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TlsError {}

/// How often a handshake failure that looks like a mistake in the set-up is logged at `warn`.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The TLS handshake of [`serve_tls`].
struct TlsHandshake {
    acceptor: TlsAcceptor,
    /// When each kind of handshake failure (a client certificate refused, the server's
    /// certificate refused) was last logged at `warn`.
    warned: [Mutex<Option<Instant>>; 2],
}

impl Handshake for TlsHandshake {
    type Io = TlsStream<TcpStream>;

    async fn handshake(
        &self,
        stream: TcpStream,
        info: &mut ConnectionInfo,
    ) -> io::Result<TlsStream<TcpStream>> {
        let tls = self.acceptor.accept(stream).await.inspect_err(|e| {
            if let Some(e) = e.get_ref().and_then(|e| e.downcast_ref()) {
                self.warn_if_set_up_wrong(e, info.peer_addr());
            }
        })?;
        let (_, session) = tls.get_ref();
        info.peer_certificate = (session.peer_certificates())
            .and_then(<[_]>::first)
            .map(|der| Bytes::copy_from_slice(der));
        Ok(tls)
    }
}

impl TlsHandshake {
    /// Logs at `warn`, at most once every [`WARN_EVERY`], a failure that suggests a mistake in
    /// the set-up rather than a stranger at the door (whose failures stay at `debug`).
    fn warn_if_set_up_wrong(&self, e: &rustls::Error, peer: SocketAddr) {
        use AlertDescription as A;
        let client_refused = match e {
            rustls::Error::InvalidCertificate(_) => false,
            rustls::Error::AlertReceived(
                A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA,
            ) => true,
            _ => return,
        };
        {
            let warned = &self.warned[usize::from(client_refused)];
            let mut warned = warned.lock().unwrap_or_else(PoisonError::into_inner);
            if warned.is_some_and(|at| at.elapsed() < WARN_EVERY) {
                return;
            }
            *warned = Some(Instant::now());
        }
        let hint = if client_refused {
            "a TLS client refused this server's certificate; if it was Tencent's, serve the whole chain (certificate, then intermediates) of a certificate Tencent trusts, for the callback URL's host (logged at most once a minute)"
        } else {
            "a TLS client's certificate did not verify against the client CA; if it was Tencent's, check that the client CA file is TencentQQAuthCA.crt, and whether Tencent has changed its CA (logged at most once a minute)"
        };
        warn!(%peer, error = %e, "{hint}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_name_their_part_and_what_is_wrong() {
        let cert: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let key: &[u8] = b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
        let zip: &[u8] = b"PK\x03\x04\x14\x00\x00\x00TencentQQAuthCA.crt";
        // (name, [chain, key, client CA], the part named, what the error says)
        let cases: [(&str, [&[u8]; 3], TlsPart, &str); 6] = [
            (
                "empty chain",
                [b"", b"", b""],
                TlsPart::CertificateChain,
                "no PEM certificate",
            ),
            (
                "chain cut short",
                [b"-----BEGIN CERTIFICATE-----\nMIIB\n", b"", b""],
                TlsPart::CertificateChain,
                "has no `-----END` line",
            ),
            (
                "a certificate where the key should be",
                [cert, cert, b""],
                TlsPart::PrivateKey,
                "no PEM private key",
            ),
            (
                "broken base64 in the key",
                [
                    cert,
                    b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
                    b"",
                ],
                TlsPart::PrivateKey,
                "not valid base64",
            ),
            (
                "Tencent's zip as the CA",
                [cert, key, zip],
                TlsPart::ClientCa,
                "unzip it",
            ),
            (
                "a CA that does not parse",
                [cert, key, cert],
                TlsPart::ClientCa,
                "certificate 1 of 1 is not usable as a CA certificate",
            ),
        ];
        for (name, [chain, key, ca], part, want) in cases {
            let err = TlsConfig::from_pem(chain, key, ca).unwrap_err();
            assert_eq!(err.part(), Some(part), "{name}: {err}");
            assert!(err.to_string().contains(want), "{name}: {err}");
            assert!(err.path().is_none(), "{name}");
        }
    }
}
