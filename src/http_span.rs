//! A request span for HTTP tracing middleware that leaves the query out.

/// A `tracing` span for an HTTP request, with its method, path and version but **not its
/// query**: a webhook's query carries `Sign`, a credential for any event of the whole freshness
/// window, so it must not reach logs. Use it in place of tower-http's default span maker, which
/// records the full URI:
///
/// ```
/// # fn main() {
/// use tower_http::trace::TraceLayer;
///
/// // In a router, the body type is known: `.layer(TraceLayer::new_for_http()
/// //     .make_span_with(tencent_chat_webhook::http_span::<axum::body::Body>))`.
/// let layer = TraceLayer::new_for_http().make_span_with(tencent_chat_webhook::http_span::<String>);
/// # let _ = layer;
/// let req = http::Request::post("/hook?SdkAppid=1&Sign=abc&RequestTime=1").body(()).unwrap();
/// let span = tencent_chat_webhook::http_span(&req);
/// # let _ = span;
/// # }
/// ```
pub fn http_span<B>(request: &http::Request<B>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// Collects every field of every span it is shown.
    #[derive(Clone, Default)]
    struct Fields(Arc<Mutex<String>>);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0.lock().unwrap(), "{}={value:?} ", field.name());
        }
    }

    impl Subscriber for Fields {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            span.record(&mut self.clone());
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            values.record(&mut self.clone());
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            event.record(&mut self.clone());
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn the_span_names_the_path_and_never_the_query() {
        let fields = Fields::default();
        tracing::subscriber::with_default(fields.clone(), || {
            let req =
                http::Request::post("/tencent/chat/webhook?SdkAppid=1&Sign=deadbeef&RequestTime=9")
                    .body(())
                    .unwrap();
            let _span = super::http_span(&req);
        });
        let seen = fields.0.lock().unwrap().clone();
        assert!(seen.contains("path=/tencent/chat/webhook"), "{seen}");
        assert!(seen.contains("method=POST"), "{seen}");
        assert!(!seen.contains("deadbeef"), "{seen}");
        assert!(!seen.contains("Sign"), "{seen}");
    }
}
