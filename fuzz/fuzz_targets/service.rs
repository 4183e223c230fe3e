#![no_main]
//! See `tencent_chat_webhook_fuzz::service`.

use tencent_chat_webhook_fuzz::service::{ServiceInput, run};

libfuzzer_sys::fuzz_target!(
    init: tencent_chat_webhook_fuzz::seeds::init(),
    |input: ServiceInput| run(input)
);
