//! What a handler method sees of the request besides the event.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use crate::protocol::command::{Command, CommandKind};
use crate::protocol::query::OptPlatform;

/// What a handler method sees of the request besides the event: the query's values, and the
/// HTTP request parts (headers, extensions such as axum's `ConnectInfo`).
pub struct RequestContext {
    pub(crate) app_id: u64,
    pub(crate) command: Cow<'static, str>,
    /// `Command::from_wire(&command)`, looked up once.
    pub(crate) known: Option<Command>,
    pub(crate) client_ip: Option<ShortText>,
    pub(crate) platform: Option<OptPlatform>,
    pub(crate) request_time: Option<u64>,
    pub(crate) content_type: Option<Cow<'static, str>>,
    pub(crate) parts: http::request::Parts,
    /// The targets of a friend request, so that a failure can still answer per target.
    pub(crate) targets: Option<Vec<String>>,
}

impl RequestContext {
    /// The `SdkAppid`, already checked against the configured one.
    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// The `CallbackCommand`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The command, if this crate knows it.
    pub fn known_command(&self) -> Option<Command> {
        self.known
    }

    /// Before or after; for a command this crate does not know, what its name says
    /// ([`CommandKind::from_name`]).
    pub fn kind(&self) -> CommandKind {
        self.known_command()
            .map_or_else(|| CommandKind::from_name(&self.command), Command::kind)
    }

    /// `ClientIP`: the address of the client that triggered the event, as sent.
    pub fn client_ip(&self) -> Option<&str> {
        self.client_ip.as_ref().map(ShortText::as_str)
    }

    /// `ClientIP` parsed as an address, when it is one.
    pub fn client_ip_addr(&self) -> Option<IpAddr> {
        self.client_ip.as_ref()?.as_str().parse().ok()
    }

    /// `OptPlatform`.
    pub fn platform(&self) -> Option<&OptPlatform> {
        self.platform.as_ref()
    }

    /// `RequestTime` in Unix seconds, verified when signature checks are on.
    pub fn request_time(&self) -> Option<u64> {
        self.request_time
    }

    /// `contenttype` (documented as always `json`).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The request headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.parts.headers
    }

    /// The request extensions, such as those set by outer middleware.
    pub fn extensions(&self) -> &http::Extensions {
        &self.parts.extensions
    }

    /// The request URI. Its query holds `Sign`, a credential valid for the freshness window:
    /// do not log it.
    pub fn uri(&self) -> &http::Uri {
        &self.parts.uri
    }

    /// Whether the request came on a connection whose client certificate the TLS handshake
    /// verified: served by [`server::serve_tls`](crate::server::serve_tls), which refuses a
    /// client without a certificate that chains to the configured CA (Tencent's
    /// `TencentQQAuthCA.crt`). `false` for a request served otherwise (plain HTTP, another
    /// server, TLS ended by a proxy), as this crate cannot tell what happened there.
    ///
    /// It is the connection's fact, read from the [`ConnectionInfo`](crate::server::ConnectionInfo)
    /// in the [extensions](Self::extensions); see [`peer_certificate`](Self::peer_certificate)
    /// for the certificate itself.
    #[cfg(feature = "tls")]
    pub fn peer_certificate_verified(&self) -> bool {
        self.peer_certificate().is_some()
    }

    /// The verified client certificate, as DER, when
    /// [`peer_certificate_verified`](Self::peer_certificate_verified): for a handler that pins
    /// one certificate on top of the server's check of the chain.
    #[cfg(feature = "tls")]
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.extensions()
            .get::<crate::connection::ConnectionInfo>()?
            .peer_certificate()
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URI is left out: its query carries `Sign`.
        f.debug_struct("RequestContext")
            .field("app_id", &self.app_id)
            .field("command", &self.command)
            .field("client_ip", &self.client_ip())
            .field("platform", &self.platform)
            .field("request_time", &self.request_time)
            .field("path", &self.parts.uri.path())
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// Starts a context for `command` of app `app_id`, to unit-test a handler method without the
    /// service. The request parts are those of an empty `POST /`.
    ///
    /// ```
    /// use tencent_chat_webhook::{Command, OptPlatform, RequestContext};
    ///
    /// let ctx = RequestContext::builder(1400000000, Command::GroupBeforeSendMsg.as_str())
    ///     .client_ip("10.0.0.7")
    ///     .platform("iOS")
    ///     .request_time(1669872112)
    ///     .build();
    /// assert_eq!(ctx.known_command(), Some(Command::GroupBeforeSendMsg));
    /// assert_eq!(ctx.platform(), Some(&OptPlatform::Ios));
    /// assert_eq!(ctx.client_ip_addr(), "10.0.0.7".parse().ok());
    /// ```
    pub fn builder(app_id: u64, command: impl Into<String>) -> RequestContextBuilder {
        let CommandName {
            name: command,
            known,
        } = CommandName::new(Cow::Owned(command.into()));
        let mut request = http::Request::new(());
        *request.method_mut() = http::Method::POST;
        RequestContextBuilder {
            ctx: RequestContext {
                app_id,
                command,
                known,
                client_ip: None,
                platform: None,
                request_time: None,
                content_type: Some(Cow::Borrowed("json")),
                parts: request.into_parts().0,
                targets: None,
            },
        }
    }
}

/// Builds a [`RequestContext`] by hand, for tests of handler methods.
#[derive(Debug)]
pub struct RequestContextBuilder {
    ctx: RequestContext,
}

impl RequestContextBuilder {
    /// Sets `ClientIP`.
    pub fn client_ip(mut self, ip: impl Into<String>) -> Self {
        self.ctx.client_ip = Some(ShortText::new(&ip.into()));
        self
    }

    /// Sets `OptPlatform`, read as the service reads it.
    pub fn platform(mut self, platform: &str) -> Self {
        self.ctx.platform = Some(OptPlatform::parse(platform));
        self
    }

    /// Sets `RequestTime` (Unix seconds).
    pub fn request_time(mut self, secs: u64) -> Self {
        self.ctx.request_time = Some(secs);
        self
    }

    /// Uses these request parts (headers, extensions, URI) instead of an empty `POST /`.
    pub fn parts(mut self, parts: http::request::Parts) -> Self {
        self.ctx.parts = parts;
        self
    }

    /// The context.
    pub fn build(self) -> RequestContext {
        self.ctx
    }
}

/// Text kept inline when it is as short as an IP address (45 bytes: the longest IPv6 form), else
/// boxed: a request's `ClientIP` is not worth an allocation.
#[derive(Clone)]
pub(crate) enum ShortText {
    Inline {
        len: u8,
        bytes: [u8; ShortText::INLINE],
    },
    Boxed(Box<str>),
}

impl ShortText {
    const INLINE: usize = 45;

    pub(crate) fn new(text: &str) -> Self {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= Self::INLINE => {
                let mut bytes = [0; Self::INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                ShortText::Inline { len, bytes }
            }
            _ => ShortText::Boxed(text.into()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Always whole characters: copied from a `str`, up to its end.
            ShortText::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            ShortText::Boxed(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ShortText;

    #[test]
    fn short_text_keeps_any_text_whole() {
        let long_v6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        assert_eq!(long_v6.len(), ShortText::INLINE);
        let long = "x".repeat(46);
        for text in ["", "127.0.0.1", "::1", long_v6, "中文地址", &long] {
            let short = ShortText::new(text);
            assert_eq!(short.as_str(), text);
            assert_eq!(
                matches!(short, ShortText::Inline { .. }),
                text.len() <= ShortText::INLINE,
                "{text}"
            );
        }
    }
}

/// A command's name as a request gives it, with its row of the table when it has one: looked
/// up once, where the name is read. A known name is the table's `&'static str`: no allocation
/// per request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CommandName {
    pub(crate) name: Cow<'static, str>,
    pub(crate) known: Option<Command>,
}

impl CommandName {
    pub(crate) fn new(command: Cow<'_, str>) -> Self {
        let known = Command::from_wire(&command);
        let name = match known {
            Some(known) => Cow::Borrowed(known.as_str()),
            None => Cow::Owned(command.into_owned()),
        };
        CommandName { name, known }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.name
    }
}
