#![no_main]
//! See `tencent_chat_webhook_fuzz::query`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tencent_chat_webhook_fuzz::query::run(data));
