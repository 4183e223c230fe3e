//! Instructions and allocations per request, which do not depend on machine noise: one mode per
//! run, repeated `N` times, for `valgrind` to count. `scripts/instructions.sh` runs every mode
//! twice (two values of `N`) under callgrind and DHAT, and prints the per-request difference
//! against the untyped `serde_json::Value` parse of the same body.
//!
//! ```sh
//! scripts/instructions.sh
//! cargo bench --bench instructions -- service official_account 1000   # one mode, by hand
//! ```
//!
//! Modes: `value` (parse the body into a `Value`), `build` (build the signed request only: what
//! `service` costs on top of the service), `service` (build, then the whole service: authenticate,
//! read, parse, dispatch, serialise, read the reply), `runtime` (the same inside a current-thread
//! tokio runtime with a timer, as a server runs it: the deadline is armed for every request, and
//! `block_on` is counted too), `multi` (the same awaited on a worker of a multi-thread runtime, as
//! a server's connection task awaits it: there the handler runs on a task of its own, with the
//! deadline's timer armed while it does), `shared` (the whole service, the body a `Bytes` that
//! shares its buffer, as hyper hands one over: a clone is a reference count, where a `String`
//! body's first clone allocates) and `build-shared` (what `shared` costs on top of the service).
//! Without arguments (as `cargo test --benches` runs it) every mode runs once per family and the
//! service's answer is checked.

#[allow(dead_code)] // each benchmark uses its part
mod common;

use std::hint::black_box;

use common::{COMMANDS, exchange, request, service};
use http_body_util::BodyExt;
use tencent_chat_webhook::test_util;
use tower::ServiceExt;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (modes, families, n): (Vec<&str>, Vec<&str>, usize) = match &args[..] {
        [] => (
            vec![
                "value",
                "build",
                "service",
                "runtime",
                "multi",
                "build-shared",
                "shared",
            ],
            COMMANDS.iter().map(|(name, _)| *name).collect(),
            1,
        ),
        [mode, family, n] => (
            vec![mode.as_str()],
            vec![family.as_str()],
            n.parse().expect("N: a number of iterations"),
        ),
        _ => panic!(
            "usage: instructions [MODE FAMILY N], MODE value|build|service|runtime|multi|build-shared|shared"
        ),
    };
    let mut service = service();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("multi-thread runtime");
    for family in families {
        let (_, command) = *COMMANDS
            .iter()
            .find(|(name, _)| *name == family)
            .unwrap_or_else(|| panic!("unknown family {family}"));
        let body = test_util::sample(command);
        let request = request(command);
        // A buffer already shared, as hyper's read buffer is once a body is split off it.
        let shared = bytes::BytesMut::from(body).split().freeze();
        let with_shared = || {
            request
                .build()
                .map(|_| http_body_util::Full::new(shared.clone()))
        };
        for &mode in &modes {
            if mode == "multi" {
                // Every iteration on one task of a worker, as a server's connection task serves
                // its requests: what is counted is the request, not getting onto the runtime.
                let (service, request) = (service.clone(), request.clone());
                let task = multi.spawn(async move {
                    for _ in 0..n {
                        let res = service.clone().oneshot(black_box(request.build())).await;
                        let res = res.expect("infallible");
                        let status = res.status().as_u16();
                        let reply = res.into_body().collect().await.expect("infallible");
                        assert_eq!(status, 200, "{command}: {:?}", reply.to_bytes());
                    }
                });
                multi.block_on(task).expect("the multi-thread mode's task");
                continue;
            }
            for _ in 0..n {
                match mode {
                    "value" => {
                        let value: serde_json::Value =
                            serde_json::from_slice(black_box(body.as_bytes())).expect("JSON");
                        assert!(value.is_object());
                    }
                    "build" => {
                        black_box(request.build());
                    }
                    "service" => {
                        let (status, reply) = exchange(&mut service, black_box(request.build()));
                        assert_eq!(status, 200, "{command}: {reply:?}");
                    }
                    "build-shared" => {
                        black_box(with_shared());
                    }
                    "shared" => {
                        let (status, reply) = exchange(&mut service, black_box(with_shared()));
                        assert_eq!(status, 200, "{command}: {reply:?}");
                    }
                    "runtime" => {
                        let (status, reply) = runtime
                            .block_on(async { exchange(&mut service, black_box(request.build())) });
                        assert_eq!(status, 200, "{command}: {reply:?}");
                    }
                    other => panic!("unknown mode {other}"),
                }
            }
        }
    }
}
