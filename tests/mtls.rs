//! Tencent's HTTPS mutual authentication on the crate's server (`server::serve_tls`), end to
//! end on 127.0.0.1, with certificates made here (rcgen: a server CA, a stand-in for Tencent's
//! `TencentQQAuthCA.crt`, another CA) and real TLS clients (tokio-rustls, with hyper's HTTP/1.1
//! and HTTP/2 over it): the callback client's certificate gets its webhook answered and the
//! handler sees it verified; no certificate, or one the client CA did not issue (or issued for
//! servers, or that expired), is refused at the handshake; TLS 1.0 and 1.1 are refused; a
//! stalled handshake ends at the header-read timeout and holds no connection slot; set-up
//! mistakes are warned about, bounded; and `examples/mtls.rs` reads its files from the
//! environment, naming the variable of a file that is wrong.
// The example is its own binary; this test includes it (and the demo module it uses).
#![allow(clippy::duplicate_mod)]

#[path = "../examples/common/demo.rs"]
mod demo;
#[path = "../examples/mtls.rs"]
#[allow(dead_code, unreachable_pub)]
mod mtls_example;

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{AlertDescription, ClientConfig, ProtocolVersion, RootCertStore};
use tencent_chat_webhook::server::{self, Limits, TlsConfig, TlsPart};
use tencent_chat_webhook::test_util::{SignedRequest, read_reply};
use tencent_chat_webhook::{
    Command, Handler, HandlerResult, RequestContext, WebhookConfig, WebhookService, group,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

const APP: u64 = 1_400_000_000;
const TOKEN: &str = "mtls-token-5e1a";

// ---------------------------------------------------------------------------------------------
// Certificates

/// A certificate and its key.
struct Identity {
    pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

type Ca = CertifiedIssuer<'static, KeyPair>;

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate for `localhost` and 127.0.0.1 that `issuer` signs, for `usage`, changed by
/// `edit`.
fn issue(
    issuer: &Ca,
    name: &str,
    usage: ExtendedKeyUsagePurpose,
    edit: impl FnOnce(&mut CertificateParams),
) -> Identity {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    edit(&mut params);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    Identity {
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
        key_der: key.serialize_der(),
    }
}

/// The certificates of one test: the server's (from its own CA), and Tencent's stand-in CA
/// with the callback client's certificate.
struct Pki {
    server_ca: Ca,
    server: Identity,
    tencent_ca: Ca,
    tencent: Identity,
}

impl Pki {
    fn new() -> Self {
        let server_ca = ca("Test server CA");
        let server = issue(
            &server_ca,
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
            |_| {},
        );
        let tencent_ca = ca("Test stand-in for TencentQQAuthCA");
        let tencent = issue(
            &tencent_ca,
            "callback client",
            ExtendedKeyUsagePurpose::ClientAuth,
            |_| {},
        );
        Pki {
            server_ca,
            server,
            tencent_ca,
            tencent,
        }
    }

    /// The server's TLS: its certificate and key, and Tencent's CA for clients.
    fn tls(&self) -> TlsConfig {
        TlsConfig::from_pem(
            self.server.pem.as_bytes(),
            self.server.key_pem.as_bytes(),
            self.tencent_ca.pem().as_bytes(),
        )
        .unwrap()
    }

    /// A client that trusts the server's CA and presents `identity`, offering only `version`
    /// and the ALPN protocol `alpn`.
    fn client(
        &self,
        identity: Option<&Identity>,
        version: &'static rustls::SupportedProtocolVersion,
        alpn: &[u8],
    ) -> TlsConnector {
        client_trusting(&self.server_ca, identity, version, alpn)
    }
}

fn client_trusting(
    server_ca: &Ca,
    identity: Option<&Identity>,
    version: &'static rustls::SupportedProtocolVersion,
    alpn: &[u8],
) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(server_ca.der().clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(
                vec![id.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    TlsConnector::from(Arc::new(config))
}

const TLS13: &rustls::SupportedProtocolVersion = &rustls::version::TLS13;
const TLS12: &rustls::SupportedProtocolVersion = &rustls::version::TLS12;

// ---------------------------------------------------------------------------------------------
// The server

/// What the handler saw of each request: whether its client certificate was verified, and
/// which one.
type Seen = Arc<Mutex<Vec<(bool, Option<Vec<u8>>)>>>;

#[derive(Clone, Default)]
struct Recording {
    seen: Seen,
}

impl Handler for Recording {
    async fn on_group_before_send_msg(
        &self,
        ctx: &RequestContext,
        _: group::BeforeSendMsg,
    ) -> HandlerResult<group::SendMsgDecision> {
        let der = ctx.peer_certificate().map(<[u8]>::to_vec);
        (self.seen.lock().unwrap()).push((ctx.peer_certificate_verified(), der));
        Ok(group::SendMsgDecision::Allow)
    }
}

struct Running {
    addr: SocketAddr,
    seen: Seen,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn start(tls: TlsConfig, limits: Limits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Recording::default();
    let seen = handler.seen.clone();
    let config = WebhookConfig::builder(APP).token(TOKEN).build().unwrap();
    let webhook = WebhookService::new(config, handler);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_tls(listener, tls, webhook, limits, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        seen,
        stop,
        task,
    }
}

impl Running {
    fn seen(&self) -> Vec<(bool, Option<Vec<u8>>)> {
        self.seen.lock().unwrap().clone()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("the server stops")
            .unwrap();
    }
}

fn signed() -> SignedRequest {
    SignedRequest::sample(Command::GroupBeforeSendMsg)
        .app_id(APP)
        .token(TOKEN)
}

// ---------------------------------------------------------------------------------------------
// The client

/// A webhook answered over TLS: what the handshake settled, and the reply.
#[derive(Debug)]
struct Answered {
    version: ProtocolVersion,
    alpn: Vec<u8>,
    status: StatusCode,
    error_code: u32,
}

/// A webhook not answered: where the exchange ended, and the TLS alert that ended it.
#[derive(Debug)]
struct Refused {
    at: &'static str,
    alert: Option<AlertDescription>,
    #[allow(dead_code)] // shown by `Debug` when a test fails
    error: String,
}

/// Connects to `addr` with `client` and sends a signed webhook (HTTP/2 when ALPN chose `h2`).
/// In TLS 1.3 the client's side of the handshake is over before the server has checked the
/// client's certificate: a refusal then ends the first request (`at: "request"`).
async fn webhook(addr: SocketAddr, client: &TlsConnector) -> Result<Answered, Refused> {
    exchange(addr, client, &signed()).await
}

/// [`webhook`] with `req`.
async fn exchange(
    addr: SocketAddr,
    client: &TlsConnector,
    req: &SignedRequest,
) -> Result<Answered, Refused> {
    let refused = |at| {
        move |e: &(dyn std::error::Error + 'static)| Refused {
            at,
            alert: alert_in(e),
            error: format!("{e:?}"),
        }
    };
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = (client.connect(name, tcp).await).map_err(|e| refused("handshake")(&e))?;
    let (_, session) = tls.get_ref();
    let version = session.protocol_version().unwrap();
    let alpn = session.alpn_protocol().unwrap_or_default().to_vec();
    let (mut parts, body) = req.build().into_parts();
    parts.uri = format!("https://localhost{}", req.path_and_query())
        .parse()
        .unwrap();
    let request = Request::from_parts(parts, Full::new(Bytes::from(body)));
    let io = TokioIo::new(tls);
    let response = if alpn == b"h2" {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| refused("request")(&e))?;
        let conn = tokio::spawn(conn);
        match sender.send_request(request).await {
            Ok(response) => Ok(response),
            // The sender says only "connection error"; the connection's task has the cause.
            Err(e) => match conn.await {
                Ok(Err(cause)) => Err(cause),
                _ => Err(e),
            },
        }
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| refused("request")(&e))?;
        tokio::spawn(conn);
        sender.send_request(request).await
    };
    let response = response.map_err(|e| refused("request")(&e))?;
    let (status, reply) = read_reply(response).await;
    Ok(Answered {
        version,
        alpn,
        status,
        error_code: reply.error_code(),
    })
}

/// The TLS alert in `e` or its sources (an `io::Error` hides its inner error from `source`).
/// h2 keeps only the text of an I/O error: then the alert is read from the text.
fn alert_in(e: &(dyn std::error::Error + 'static)) -> Option<AlertDescription> {
    let mut next = Some(e);
    while let Some(e) = next {
        let inner = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref);
        let tls = inner
            .and_then(|i| i.downcast_ref::<rustls::Error>())
            .or_else(|| e.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::AlertReceived(alert)) = tls {
            return Some(*alert);
        }
        next = match inner {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    let text = format!("{e:?}");
    (0..=u8::MAX)
        .map(AlertDescription::from)
        .map(|alert| (alert, format!("received fatal alert: {alert:?}")))
        .filter(|(_, said)| text.contains(said.as_str()))
        // `BadCertificate` is in `BadCertificateStatusResponse`: the longest name is the one.
        .max_by_key(|(_, said)| said.len())
        .map(|(alert, _)| alert)
}

// ---------------------------------------------------------------------------------------------
// The tests

/// The callback client's certificate, over TLS 1.3 and 1.2 and HTTP/2 and HTTP/1.1 as ALPN
/// chose: the webhook is answered, and the handler sees the peer verified, with this very
/// certificate. The server's files are read as an operator gives them (`from_pem_files`).
#[tokio::test]
async fn the_callback_clients_certificate_gets_its_webhook_answered_and_seen_verified() {
    let pki = Pki::new();
    let dir = TempDir::new("answered");
    let files = [
        dir.write("fullchain.pem", &pki.server.pem),
        dir.write("privkey.pem", &pki.server.key_pem),
        dir.write("TencentQQAuthCA.crt", &pki.tencent_ca.pem()),
    ];
    let tls = TlsConfig::from_pem_files(&files[0], &files[1], &files[2]).unwrap();
    let server = start(tls, Limits::default()).await;
    let cases = [
        ("TLS 1.3, h2", TLS13, &b"h2"[..], ProtocolVersion::TLSv1_3),
        (
            "TLS 1.3, http/1.1",
            TLS13,
            b"http/1.1",
            ProtocolVersion::TLSv1_3,
        ),
        ("TLS 1.2, h2", TLS12, b"h2", ProtocolVersion::TLSv1_2),
        (
            "TLS 1.2, http/1.1",
            TLS12,
            b"http/1.1",
            ProtocolVersion::TLSv1_2,
        ),
    ];
    for (name, version, alpn, want_version) in cases {
        let client = pki.client(Some(&pki.tencent), version, alpn);
        let answered = webhook(server.addr, &client)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(answered.version, want_version, "{name}");
        assert_eq!(answered.alpn, alpn, "{name}");
        assert_eq!(
            (answered.status, answered.error_code),
            (StatusCode::OK, 0),
            "{name}"
        );
    }
    let seen = server.seen();
    assert_eq!(seen.len(), cases.len());
    for (verified, der) in seen {
        assert!(verified);
        assert_eq!(der.as_deref(), Some(pki.tencent.der.as_ref()));
    }
    server.stop().await;
}

/// Every client without a certificate that Tencent's CA issued for clients and that is valid
/// now is refused at the handshake, with the alert that says why, and never reaches the
/// service; the callback client is still served after them.
#[tokio::test]
async fn clients_without_a_client_certificate_of_the_client_ca_are_refused_at_the_handshake() {
    let pki = Pki::new();
    let other_ca = ca("Some other CA");
    let client_usage = ExtendedKeyUsagePurpose::ClientAuth;
    let stranger = issue(&other_ca, "stranger", client_usage.clone(), |_| {});
    // The CA of the server's own certificate is not trusted for clients either.
    let server_cas = issue(&pki.server_ca, "neighbour", client_usage.clone(), |_| {});
    let expired = issue(&pki.tencent_ca, "expired", client_usage, |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    // Issued by the client CA, for servers only: refused, as OpenSSL (Nginx, Apache) does.
    let server_only = issue(
        &pki.tencent_ca,
        "server only",
        ExtendedKeyUsagePurpose::ServerAuth,
        |_| {},
    );
    let server = start(pki.tls(), Limits::default()).await;
    // (name, certificate, version, where the client sees it, the server's alert)
    let cases = [
        (
            "none, TLS 1.3",
            None,
            TLS13,
            "request",
            AlertDescription::CertificateRequired,
        ),
        (
            "none, TLS 1.2",
            None,
            TLS12,
            "handshake",
            AlertDescription::CertificateRequired,
        ),
        (
            "another CA's",
            Some(&stranger),
            TLS13,
            "request",
            AlertDescription::UnknownCA,
        ),
        (
            "another CA's, TLS 1.2",
            Some(&stranger),
            TLS12,
            "handshake",
            AlertDescription::UnknownCA,
        ),
        (
            "the server certificate's CA's",
            Some(&server_cas),
            TLS13,
            "request",
            AlertDescription::UnknownCA,
        ),
        (
            "the client CA's, expired",
            Some(&expired),
            TLS13,
            "request",
            AlertDescription::CertificateExpired,
        ),
        (
            "the client CA's, for servers only",
            Some(&server_only),
            TLS13,
            "request",
            AlertDescription::UnsupportedCertificate,
        ),
    ];
    for (name, identity, version, at, alert) in cases {
        let client = pki.client(identity, version, b"http/1.1");
        let refused = match webhook(server.addr, &client).await {
            Ok(answered) => panic!("{name}: answered {answered:?}"),
            Err(refused) => refused,
        };
        assert_eq!(
            (refused.at, refused.alert),
            (at, Some(alert)),
            "{name}: {refused:?}"
        );
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    let client = pki.client(Some(&pki.tencent), TLS13, b"h2");
    let answered = webhook(server.addr, &client).await.unwrap();
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(server.seen().len(), 1);
    server.stop().await;
}

/// A hand-made ClientHello (rustls cannot offer TLS 1.1): `version` as the highest the client
/// speaks, the cipher suites such clients offer, and optionally the signature algorithms
/// extension (which TLS 1.1 clients do not send; some send it anyway).
fn client_hello(version: [u8; 2], signature_algorithms: bool) -> Vec<u8> {
    let mut extensions = vec![
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // groups: x25519, P-256
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // EC point formats: uncompressed
    ];
    if signature_algorithms {
        // ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
        extensions.extend([
            0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
        ]);
    }
    let mut body = Vec::new();
    body.extend(version);
    body.extend([0x42; 32]); // random
    body.push(0); // no session id
    // ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-SHA, ECDHE-RSA-AES128-SHA, AES128-SHA
    body.extend([0x00, 0x08, 0xc0, 0x2b, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x2f]);
    body.extend([0x01, 0x00]); // no compression
    body.extend(u16::try_from(extensions.len()).unwrap().to_be_bytes());
    body.extend(extensions);
    let mut handshake = vec![0x01]; // ClientHello
    handshake.extend(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01]; // handshake, TLS 1.0 record layer
    record.extend(u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend(handshake);
    record
}

/// What the server sends back to a ClientHello, until it closes or 5 s pass.
async fn answer_to(addr: SocketAddr, hello: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(hello).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // A ServerHello's record header and first handshake byte are all this test reads.
    while answer.len() < 6 {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    }
    answer
}

/// TLS 1.0 and 1.1 are not offered: a client that speaks nothing newer gets a fatal alert
/// instead of a ServerHello, `protocol_version` when its hello is otherwise acceptable; the
/// same hello saying TLS 1.2 gets a ServerHello (so the hello is well made).
#[tokio::test]
async fn tls_1_0_and_1_1_are_refused() {
    const HANDSHAKE: u8 = 0x16;
    const ALERT: u8 = 0x15;
    const SERVER_HELLO: u8 = 0x02;
    const FATAL: u8 = 2;
    const PROTOCOL_VERSION: u8 = 70;
    const HANDSHAKE_FAILURE: u8 = 40;
    let pki = Pki::new();
    let server = start(pki.tls(), Limits::default()).await;
    // (name, the hello, the answer's record type, then its first byte(s) of content)
    let cases: [(&str, Vec<u8>, u8, &[u8]); 5] = [
        (
            "TLS 1.1",
            client_hello([3, 2], true),
            ALERT,
            &[FATAL, PROTOCOL_VERSION],
        ),
        (
            "TLS 1.0",
            client_hello([3, 1], true),
            ALERT,
            &[FATAL, PROTOCOL_VERSION],
        ),
        (
            // What `openssl s_client -tls1_1` sends: refused before its version is looked at.
            "TLS 1.1 without signature algorithms",
            client_hello([3, 2], false),
            ALERT,
            &[FATAL, HANDSHAKE_FAILURE],
        ),
        (
            "the same hello saying TLS 1.2",
            client_hello([3, 3], true),
            HANDSHAKE,
            &[SERVER_HELLO],
        ),
        (
            "not TLS",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            ALERT,
            &[FATAL],
        ),
    ];
    for (name, hello, record, content) in cases {
        let answer = answer_to(server.addr, &hello).await;
        assert!(answer.len() >= 5 + content.len(), "{name}: {answer:?}");
        assert_eq!(answer[0], record, "{name}: {answer:?}");
        assert_eq!(&answer[5..5 + content.len()], content, "{name}: {answer:?}");
    }
    server.stop().await;
}

/// A client that opens a connection and stalls its handshake (half a ClientHello, or nothing)
/// is closed once the header-read timeout is over, not before.
#[tokio::test]
async fn a_stalled_handshake_is_closed_at_the_header_read_timeout() {
    let pki = Pki::new();
    let mut limits = Limits::default();
    limits.header_read_timeout = Duration::from_secs(1);
    let server = start(pki.tls(), limits).await;
    let half_hello = &client_hello([3, 3], true)[..20];
    for (name, sent) in [("half a ClientHello", half_hello), ("nothing", &[][..])] {
        let opened = Instant::now();
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(sent).await.unwrap();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
        let waited = opened.elapsed();
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "{name}: closed without an answer: {read:?}"
        );
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(6),
            "{name}: closed after {waited:?}"
        );
    }
    server.stop().await;
}

/// Stalled handshakes hold no slot: with the client's connections all taken by them, the
/// callback client's connection makes room (a stalled one is closed at once) and is answered
/// long before the stalled ones' 5 s would be over.
#[tokio::test]
async fn stalled_handshakes_do_not_keep_the_callback_client_out() {
    let pki = Pki::new();
    let mut limits = Limits::default();
    limits.max_connections_per_client = 2;
    let server = start(pki.tls(), limits).await;
    let half_hello = &client_hello([3, 3], true)[..20];
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(half_hello).await.unwrap();
        stalled.push(stream);
    }
    // Their tasks have started (a connection is not evicted before).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let client = pki.client(Some(&pki.tencent), TLS13, b"http/1.1");
    let answered = webhook(server.addr, &client).await.unwrap();
    let took = started.elapsed();
    assert_eq!(answered.status, StatusCode::OK);
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    let mut closed = 0;
    for stream in &mut stalled {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
        if matches!(read, Ok(Ok(0) | Err(_))) {
            closed += 1;
        }
    }
    assert_eq!(closed, 1, "one stalled handshake made room");
    server.stop().await;
}

/// A log writer into a shared buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

/// The handshake failures that suggest a set-up mistake (a client certificate that does not
/// verify; a client that refuses the server's certificate) are warned about once a minute
/// each; a client without a certificate (a scanner) only at debug; no line holds a key or a
/// certificate.
#[tokio::test]
async fn set_up_mistakes_are_warned_once_a_minute_and_strangers_only_at_debug() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This test's runtime has one thread: the server's tasks log through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let pki = Pki::new();
    let other_ca = ca("Some other CA");
    let stranger = issue(
        &other_ca,
        "stranger",
        ExtendedKeyUsagePurpose::ClientAuth,
        |_| {},
    );
    let server = start(pki.tls(), Limits::default()).await;
    let no_certificate = pki.client(None, TLS13, b"http/1.1");
    let wrong_certificate = pki.client(Some(&stranger), TLS13, b"http/1.1");
    // A client that does not trust the server's certificate (as Tencent's would not trust a
    // self-signed one).
    let distrusting = client_trusting(&other_ca, Some(&pki.tencent), TLS13, b"http/1.1");
    for client in [&no_certificate, &wrong_certificate, &distrusting] {
        for _ in 0..2 {
            assert!(webhook(server.addr, client).await.is_err());
        }
    }
    server.stop().await;

    let lines = logs.lines();
    let count = |level: &str, text: &str| {
        (lines.iter())
            .filter(|l| l.contains(level) && l.contains(text))
            .count()
    };
    assert_eq!(
        count("WARN", "did not verify against the client CA"),
        1,
        "{lines:#?}"
    );
    assert_eq!(
        count("WARN", "refused this server's certificate"),
        1,
        "{lines:#?}"
    );
    assert_eq!(count("WARN", ""), 2, "{lines:#?}");
    assert_eq!(count("DEBUG", "handshake failed"), 6, "{lines:#?}");
    let secrets = [
        &pki.server.key_pem,
        &pki.tencent.key_pem,
        &pki.tencent.pem,
        &stranger.pem,
    ];
    for secret in secrets {
        // A line of each PEM's base64 (the first after its BEGIN line).
        let line = secret.lines().nth(1).unwrap();
        assert!(!lines.iter().any(|l| l.contains(line)), "{line} logged");
    }
}

/// Files that are missing or wrong are named in the error: which input, its path, what is
/// wrong.
#[test]
fn a_missing_or_wrong_file_is_named() {
    let pki = Pki::new();
    let dir = TempDir::new("files");
    let chain = dir.write("fullchain.pem", &pki.server.pem);
    let key = dir.write("privkey.pem", &pki.server.key_pem);
    let ca = dir.write("TencentQQAuthCA.crt", &pki.tencent_ca.pem());
    let other_key = dir.write("other.key", &pki.tencent.key_pem);
    let missing = dir.path.join("missing.crt");
    // Tencent's CA as one DER certificate, as a `.crt` may be: taken.
    let der_ca = dir.write_bytes("TencentQQAuthCA.der", pki.tencent_ca.der());
    assert!(TlsConfig::from_pem_files(&chain, &key, &der_ca).is_ok());
    let cases = [
        (
            "a missing CA file",
            [&chain, &key, &missing],
            TlsPart::ClientCa,
            &missing,
            "cannot read it",
        ),
        (
            "another certificate's key",
            [&chain, &other_key, &ca],
            TlsPart::PrivateKey,
            &other_key,
            "not the key of the server certificate",
        ),
        (
            "the key as the chain",
            [&key, &key, &ca],
            TlsPart::CertificateChain,
            &key,
            "no PEM certificate",
        ),
    ];
    for (name, [chain, key, ca], part, path, why) in cases {
        let err = TlsConfig::from_pem_files(chain, key, ca).unwrap_err();
        assert_eq!(err.part(), Some(part), "{name}: {err}");
        assert_eq!(err.path(), Some(path.as_path()), "{name}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(why) && text.contains(&path.display().to_string()),
            "{name}: {text}"
        );
        for file in [chain, key, ca] {
            let text_of_file = std::fs::read_to_string(file).unwrap_or_default();
            // A line of the file's base64 (the first after its BEGIN line).
            if let Some(line) = text_of_file.lines().nth(1) {
                assert!(!text.contains(line), "{name}: {text}");
            }
        }
    }
}

/// `examples/mtls.rs`: a variable that is not set, or names a file that is wrong, is named in
/// the error; with the three set, its server (the quickstart's app and demo handler) answers
/// the callback client and refuses a client without a certificate.
#[tokio::test]
async fn the_example_reads_its_files_from_the_environment() {
    let pki = Pki::new();
    let dir = TempDir::new("example");
    let env = [
        ("TLS_CERT", dir.write("fullchain.pem", &pki.server.pem)),
        ("TLS_KEY", dir.write("privkey.pem", &pki.server.key_pem)),
        (
            "TENCENT_CA",
            dir.write("TencentQQAuthCA.crt", &pki.tencent_ca.pem()),
        ),
    ];
    let lookup = |env: &[(&str, PathBuf)]| {
        let env: Vec<(String, String)> = (env.iter())
            .map(|(k, v)| ((*k).to_owned(), v.display().to_string()))
            .collect();
        move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    for (i, (name, _)) in env.iter().enumerate() {
        let mut unset = env.to_vec();
        unset.remove(i);
        let err = mtls_example::tls_config(lookup(&unset)).unwrap_err();
        assert!(err.starts_with(&format!("{name} is not set")), "{err}");
        let mut wrong = env.to_vec();
        wrong[i].1 = dir.path.join("missing.pem");
        let err = mtls_example::tls_config(lookup(&wrong)).unwrap_err();
        assert!(err.starts_with(&format!("{name}: ")), "{err}");
        assert!(
            err.contains("missing.pem") && err.contains("cannot read it"),
            "{err}"
        );
    }
    let tls = mtls_example::tls_config(lookup(&env)).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = WebhookConfig::builder(demo::DEFAULT_APP_ID)
        .token(demo::DEMO_TOKEN)
        .build()
        .unwrap();
    let app = mtls_example::app(WebhookService::new(config, demo::DemoHandler));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_tls(
        listener,
        tls,
        app,
        Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    // The demo's defaults, which `SignedRequest` signs with when not told otherwise.
    let req = SignedRequest::sample(Command::GroupBeforeSendMsg).path(demo::WEBHOOK_PATH);
    let answered = exchange(addr, &pki.client(Some(&pki.tencent), TLS13, b"h2"), &req).await;
    assert_eq!(answered.unwrap().status, StatusCode::OK);
    let refused = exchange(addr, &pki.client(None, TLS13, b"h2"), &req).await;
    let refused = refused.unwrap_err();
    assert_eq!(
        refused.alert,
        Some(AlertDescription::CertificateRequired),
        "{refused:?}"
    );
    let _ = stop.send(());
    task.await.unwrap();
}

/// A directory of this test's files, removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("mtls-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        self.write_bytes(name, text.as_bytes())
    }

    fn write_bytes(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
