//! Queueing after-events: an [`EventSink`] takes them, [`Queued`] routes them there.
//!
//! The `Handler` impl of [`Queued`] is generated from the command table (by
//! [`queued_handler!`], which `commands!` invokes with every row), so that no command can be
//! forgotten: every before-method goes to the inline handler, every after-method to the sink
//! when it accepts the command.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::{HandlerResult, RequestContext};
use crate::protocol::event::Event;

/// Where [`Queued`] puts the after-events it takes off the request path: a durable queue (a
/// Redis stream, a database table, a message broker) that other processes read.
///
/// [`push`](EventSink::push) must return `Ok` only once the event is stored durably: the
/// service answers Tencent OK as soon as it does, and Tencent does not send the event again.
/// An `Err` answers HTTP 500, so that Tencent's retry (where switched on in its console)
/// delivers it again. Return within the service's deadline
/// ([`WebhookConfig::DEFAULT_DEADLINE`](crate::WebhookConfig::DEFAULT_DEADLINE)), and configure
/// the service with [`AfterDeadline::Cancel`](crate::AfterDeadline::Cancel): under the default,
/// `Finish`, an after-event still running at the deadline is acknowledged and finished in the
/// background, before the sink has stored it.
///
/// ```
/// use std::sync::Mutex;
/// use tencent_chat_webhook::{Event, EventSink, HandlerResult, RequestContext};
///
/// #[derive(Default)]
/// struct InMemory(Mutex<Vec<String>>);
///
/// impl EventSink for InMemory {
///     fn accepts(&self, command: &str) -> bool {
///         command.starts_with("Group.")
///     }
///
///     async fn push(&self, _ctx: &RequestContext, event: &Event) -> HandlerResult<()> {
///         self.0.lock().unwrap().push(event.to_json());
///         Ok(())
///     }
/// }
/// # let sink = InMemory::default();
/// # assert!(sink.accepts("Group.CallbackAfterGroupFull"));
/// # assert!(!sink.accepts("C2C.CallbackAfterSendMsg"));
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Whether after-events of `command` (a `CallbackCommand`, known to this crate or not) go
    /// to this sink. Default: all of them.
    fn accepts(&self, command: &str) -> bool {
        let _ = command;
        true
    }

    /// Stores `event`, received with `ctx`; `Ok` once it is stored durably.
    fn push(
        &self,
        ctx: &RequestContext,
        event: &Event,
    ) -> impl Future<Output = HandlerResult<()>> + Send;
}

impl<S: EventSink> EventSink for Arc<S> {
    fn accepts(&self, command: &str) -> bool {
        (**self).accepts(command)
    }

    fn push(
        &self,
        ctx: &RequestContext,
        event: &Event,
    ) -> impl Future<Output = HandlerResult<()>> + Send {
        (**self).push(ctx, event)
    }
}

/// A [`Handler`](crate::Handler) that answers before-events with `inner` and puts the
/// after-events that `sink` accepts into it, answering OK once the sink stored them (and 500
/// when it could not). After-events the sink does not accept go to `inner`, as do unparsed
/// bodies. An unknown command goes to the sink when its name says it is an after-event
/// ([`CommandKind::from_name`](crate::CommandKind::from_name)) and the sink accepts it, and to
/// `inner`'s [`on_unknown`](crate::Handler::on_unknown) otherwise.
///
/// The workers that read the sink then hand each event to the same handler type, so one
/// handler serves both paths: decisions inline, notifications from the queue.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tencent_chat_webhook::{
///     Command, Event, EventSink, Handler, HandlerResult, Queued, RequestContext, WebhookConfig,
///     WebhookService,
/// };
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<String>>);
/// impl EventSink for Log {
///     async fn push(&self, _ctx: &RequestContext, event: &Event) -> HandlerResult<()> {
///         self.0.lock().unwrap().push(event.command_name().to_owned());
///         Ok(())
///     }
/// }
///
/// struct Decisions;
/// impl Handler for Decisions {}
///
/// let log = Arc::new(Log::default());
/// let handler = Queued::new(Decisions, log.clone());
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let ctx = RequestContext::builder(1, Command::GroupAfterFull.as_str()).build();
/// let event = Event::parse("Group.CallbackAfterGroupFull", br#"{"GroupId":"@TGS#1"}"#).unwrap();
/// let Event::GroupAfterFull(full) = event else { unreachable!() };
/// handler.on_group_after_full(&ctx, full).await.unwrap();
/// # });
/// assert_eq!(*log.0.lock().unwrap(), ["Group.CallbackAfterGroupFull"]);
/// # let config = WebhookConfig::builder(1).token("t").build().unwrap();
/// # let _ = WebhookService::new(config, handler);
/// ```
pub struct Queued<H, S> {
    inner: H,
    sink: S,
}

impl<H, S> Queued<H, S> {
    /// Before-events (and after-events `sink` does not accept) to `inner`; the after-events
    /// `sink` accepts to `sink`.
    pub fn new(inner: H, sink: S) -> Self {
        Queued { inner, sink }
    }

    /// The inline handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }
}

impl<H: fmt::Debug, S: fmt::Debug> fmt::Debug for Queued<H, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued")
            .field("inner", &self.inner)
            .field("sink", &self.sink)
            .finish()
    }
}

/// One method of the `Handler` impl of [`Queued`]: a before-event to the inline handler, an
/// after-event to the sink when it accepts the command.
macro_rules! queued_method {
    (Before, $variant:ident, $method:ident, $event:ty, $ret:ty) => {
        fn $method(
            &self,
            ctx: &RequestContext,
            event: $event,
        ) -> impl Future<Output = HandlerResult<$ret>> + Send {
            self.inner().$method(ctx, event)
        }
    };
    (After, $variant:ident, $method:ident, $event:ty, $ret:ty) => {
        async fn $method(&self, ctx: &RequestContext, event: $event) -> HandlerResult<$ret> {
            if self.sink().accepts(Command::$variant.as_str()) {
                self.sink().push(ctx, &Event::$variant(event)).await
            } else {
                self.inner().$method(ctx, event).await
            }
        }
    };
}

/// The `Handler` impl of [`Queued`], from the rows of the command table.
macro_rules! queued_handler {
    ($($variant:ident, $kind:ident, fn $method:ident($event:ty) -> $ret:ty;)*) => {
        impl<H: Handler, S: $crate::handler::queue::EventSink> Handler
            for $crate::handler::queue::Queued<H, S>
        {
            $($crate::handler::queue::queued_method!($kind, $variant, $method, $event, $ret);)*

            async fn on_unknown(
                &self,
                ctx: &RequestContext,
                event: UnknownEvent,
            ) -> HandlerResult<Reply> {
                let queue = $crate::protocol::command::CommandKind::from_name(&event.command)
                    == $crate::protocol::command::CommandKind::After
                    && self.sink().accepts(&event.command);
                if queue {
                    self.sink().push(ctx, &Event::Unknown(event)).await.map(|()| Reply::ok())
                } else {
                    self.inner().on_unknown(ctx, event).await
                }
            }

            fn on_unparsed(
                &self,
                ctx: &RequestContext,
                event: UnparsedEvent,
            ) -> impl Future<Output = HandlerResult<Option<Reply>>> + Send {
                self.inner().on_unparsed(ctx, event)
            }
        }
    };
}

pub(crate) use {queued_handler, queued_method};

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::handler::{ErasedHandler, Recorder};
    use crate::protocol::command::{Command, CommandKind};

    /// A sink that records what it takes, of the commands it accepts, or fails.
    #[derive(Default)]
    struct Sink {
        only: Option<Command>,
        fail: bool,
        taken: Mutex<Vec<String>>,
    }

    impl EventSink for Sink {
        fn accepts(&self, command: &str) -> bool {
            self.only.is_none_or(|only| only.as_str() == command)
        }

        async fn push(&self, _ctx: &RequestContext, event: &Event) -> HandlerResult<()> {
            if self.fail {
                return Err(crate::HandlerError::msg("the queue is down"));
            }
            self.taken
                .lock()
                .unwrap()
                .push(event.command_name().to_owned());
            Ok(())
        }
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn dispatch(handler: &Queued<Recorder, Sink>, event: Event) -> HandlerResult<crate::Reply> {
        let ctx = RequestContext::builder(1, event.command_name()).build();
        run(handler.dispatch(&ctx, event))
    }

    #[test]
    fn every_after_event_is_queued_and_every_before_event_is_answered_inline() {
        let handler = Queued::new(Recorder::default(), Sink::default());
        for &command in Command::ALL {
            let event = Event::parse(command.as_str(), command.sample().as_bytes()).unwrap();
            dispatch(&handler, event).unwrap();
        }
        let taken = handler.sink.taken.lock().unwrap().clone();
        let inline: Vec<_> = handler
            .inner
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.command_name().to_owned())
            .collect();
        for &command in Command::ALL {
            let (to, other) = match command.kind() {
                CommandKind::Before => (&inline, &taken),
                CommandKind::After => (&taken, &inline),
            };
            assert!(to.iter().any(|c| c == command.as_str()), "{command}");
            assert!(!other.iter().any(|c| c == command.as_str()), "{command}");
        }
        assert_eq!(taken.len() + inline.len(), Command::ALL.len());
    }

    #[test]
    fn after_events_the_sink_does_not_accept_go_inline() {
        let sink = Sink {
            only: Some(Command::GroupAfterFull),
            ..Sink::default()
        };
        let handler = Queued::new(Recorder::default(), sink);
        for command in [Command::GroupAfterFull, Command::C2cAfterSendMsg] {
            let event = Event::parse(command.as_str(), command.sample().as_bytes()).unwrap();
            dispatch(&handler, event).unwrap();
        }
        assert_eq!(
            *handler.sink.taken.lock().unwrap(),
            ["Group.CallbackAfterGroupFull"]
        );
        let inline = handler.inner.0.lock().unwrap();
        assert_eq!(inline.len(), 1);
        assert_eq!(inline[0].command(), Some(Command::C2cAfterSendMsg));
    }

    #[test]
    fn a_failing_sink_fails_the_event() {
        let sink = Sink {
            fail: true,
            ..Sink::default()
        };
        let handler = Queued::new(Recorder::default(), sink);
        let command = Command::GroupAfterFull;
        let event = Event::parse(command.as_str(), command.sample().as_bytes()).unwrap();
        let error = dispatch(&handler, event).unwrap_err();
        assert_eq!(error.to_string(), "the queue is down");
        assert!(handler.inner.0.lock().unwrap().is_empty());
    }

    #[test]
    fn unknown_commands_are_queued_only_when_their_name_says_after() {
        let handler = Queued::new(Recorder::default(), Sink::default());
        for name in ["Future.CallbackAfterThing", "Future.CallbackBeforeThing"] {
            let event = Event::parse(name, b"{}").unwrap();
            let reply = dispatch(&handler, event).unwrap();
            assert_eq!(reply, crate::Reply::ok(), "{name}");
        }
        assert_eq!(
            *handler.sink.taken.lock().unwrap(),
            ["Future.CallbackAfterThing"]
        );
    }
}
