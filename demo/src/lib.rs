//! The quick start of `tencent-chat-webhook`, a package of its own so that
//! `cargo run --example quickstart` builds only what it needs. The example is
//! `examples/quickstart.rs` in this package; its handler and settings are the examples' shared
//! `examples/common/demo.rs` of the main package.
