//! What a request learns of the connection it came on ([`ConnectionInfo`]), in its extensions:
//! a plain record the server (feature `server`) fills in and a handler reads through its
//! [`RequestContext`](crate::handler::context::RequestContext), below both, so that neither
//! reaches up for it. The server's type, at `server::ConnectionInfo`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

#[cfg(feature = "tls")]
use bytes::Bytes;

/// What the server knows about the connection a request came on, in every request's
/// extensions.
///
/// A handler reads it from [`RequestContext::extensions`](crate::RequestContext::extensions),
/// and a test of that handler puts one there with [`ConnectionInfo::new`]:
///
/// ```
/// use std::net::SocketAddr;
/// use tencent_chat_webhook::RequestContext;
/// use tencent_chat_webhook::server::ConnectionInfo;
///
/// fn peer(ctx: &RequestContext) -> Option<SocketAddr> {
///     ctx.extensions().get::<ConnectionInfo>().map(ConnectionInfo::peer_addr)
/// }
///
/// let from: SocketAddr = "203.0.113.9:50123".parse().unwrap();
/// let (mut parts, ()) = http::Request::new(()).into_parts();
/// parts.extensions.insert(ConnectionInfo::new(from, "10.0.0.1:443".parse().unwrap()));
/// let ctx = RequestContext::builder(1400000000, "C2C.CallbackAfterSendMsg").parts(parts).build();
/// assert_eq!(peer(&ctx), Some(from));
/// ```
///
/// Behind a proxy the peer is the proxy; the client's address is then in a header the proxy
/// sets, which only the proxy can vouch for.
///
/// With feature `tls`, a connection served by [`serve_tls`](crate::server::serve_tls) also carries the
/// client certificate that its handshake verified ([`peer_certificate`](Self::peer_certificate)).
#[derive(Clone)]
pub struct ConnectionInfo {
    pub(crate) peer: SocketAddr,
    local: SocketAddr,
    /// The per-client counts, for the guard's per-client cap.
    pub(crate) client: Option<Arc<Client>>,
    /// The DER of the client certificate the TLS handshake verified.
    #[cfg(feature = "tls")]
    pub(crate) peer_certificate: Option<Bytes>,
}

impl ConnectionInfo {
    /// The facts of a connection from `peer`, accepted on `local`: for tests (the server makes
    /// its own, which also tie the connection to its client's counts).
    pub fn new(peer: SocketAddr, local: SocketAddr) -> Self {
        Self::with_client(peer, local, None)
    }

    pub(crate) fn with_client(
        peer: SocketAddr,
        local: SocketAddr,
        client: Option<Arc<Client>>,
    ) -> Self {
        ConnectionInfo {
            peer,
            local,
            client,
            #[cfg(feature = "tls")]
            peer_certificate: None,
        }
    }

    /// The address of the other end of the connection.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The address the connection was accepted on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The client certificate (DER, the end-entity certificate, not its chain) that the TLS
    /// handshake verified: with [`serve_tls`](crate::server::serve_tls) and a
    /// [`TlsConfig`](crate::server::TlsConfig) built from PEM, a certificate that chains to the
    /// configured client CA. `None` on a connection without TLS, or without a client
    /// certificate (possible only with [`TlsConfig::from_rustls`](crate::server::TlsConfig::from_rustls)
    /// and a verifier that lets anonymous clients in).
    ///
    /// The server checks the chain alone; a handler that wants to pin one certificate compares
    /// this (or its hash) with the one it expects.
    #[cfg(feature = "tls")]
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.peer_certificate.as_deref()
    }

    /// These facts, with `der` as the verified client certificate: for tests of handlers that
    /// read [`peer_certificate`](Self::peer_certificate) (the server sets it from the
    /// handshake).
    ///
    /// ```
    /// use tencent_chat_webhook::RequestContext;
    /// use tencent_chat_webhook::server::ConnectionInfo;
    ///
    /// let der = vec![0x30, 0x82, 0x01, 0x0a]; // a certificate's DER, cut short for the example
    /// let info = ConnectionInfo::new("203.0.113.9:50123".parse().unwrap(), "10.0.0.1:443".parse().unwrap())
    ///     .with_peer_certificate(der.clone());
    /// let (mut parts, ()) = http::Request::new(()).into_parts();
    /// parts.extensions.insert(info);
    /// let ctx = RequestContext::builder(1400000000, "C2C.CallbackAfterSendMsg").parts(parts).build();
    /// assert!(ctx.peer_certificate_verified());
    /// assert_eq!(ctx.peer_certificate(), Some(&der[..]));
    /// ```
    #[cfg(feature = "tls")]
    pub fn with_peer_certificate(mut self, der: impl Into<Bytes>) -> Self {
        self.peer_certificate = Some(der.into());
        self
    }
}

impl fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConnectionInfo");
        d.field("peer", &self.peer).field("local", &self.local);
        #[cfg(feature = "tls")]
        d.field(
            "peer_certificate",
            &self
                .peer_certificate
                .as_ref()
                .map(|der| format!("{} bytes of DER", der.len())),
        );
        d.finish()
    }
}

/// One client's requests in flight, counted by the [`Guard`](crate::server::Guard) of every request
/// that comes on one of its connections.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) in_flight: AtomicUsize,
}
