#![no_main]
//! See `tencent_chat_webhook_fuzz::body`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tencent_chat_webhook_fuzz::body::run(data));
