//! One signed request over plain HTTP/1.1, timed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::args::Outgoing;

/// A pooled HTTP/1.1 client (keep-alive, as Tencent's own).
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new client. Needs a Tokio runtime to send with.
pub(crate) fn new_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// What the server answered.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: http::StatusCode,
    /// The body.
    pub(crate) reply: Bytes,
    /// From sending to the last byte of the reply.
    pub(crate) latency: Duration,
}

/// Signs (with the current time unless `--time` fixed it) and sends one request. The error says
/// what went wrong, in words: no server, no answer in time, a reply cut short.
pub(crate) async fn send_one(client: &HttpClient, out: &Outgoing) -> Result<Answer, String> {
    let authority = out.url.authority().map_or("", |a| a.as_str());
    let uri = format!("http://{authority}{}", out.request.path_and_query());
    let request = http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(out.request.body_text().to_owned())))
        .map_err(|e| format!("cannot build a request for {}: {e}", out.url))?;
    let started = Instant::now();
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("could not reach {}: {}", out.url, error_chain(&e)))?;
        let status = response.status();
        let reply = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("the reply from {} broke off: {}", out.url, error_chain(&e)))?
            .to_bytes();
        Ok::<_, String>((status, reply))
    };
    let (status, reply) = tokio::time::timeout(out.timeout, exchange)
        .await
        .map_err(|_| {
            format!(
                "no answer from {} within {} s (--timeout)",
                out.url,
                out.timeout.as_secs()
            )
        })??;
    Ok(Answer {
        status,
        reply,
        latency: started.elapsed(),
    })
}

/// An error and its sources, joined: hyper's own message alone ("client error (Connect)") does
/// not say that the connection was refused.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A duration in milliseconds, two decimals.
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_have_two_decimals() {
        assert_eq!(ms(Duration::from_micros(1_234)), "1.23 ms");
        assert_eq!(ms(Duration::ZERO), "0.00 ms");
    }

    #[test]
    fn an_error_names_its_causes() {
        #[derive(Debug)]
        struct Connect(std::io::Error);
        impl std::fmt::Display for Connect {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Connect {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Connect(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ));
        assert_eq!(
            error_chain(&e),
            "client error (Connect): Connection refused"
        );
    }
}
