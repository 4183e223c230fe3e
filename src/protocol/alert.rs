//! Operations alarms: `Alert.RequestOverLimit`
//! ([1047/60256](https://www.tencentcloud.com/document/product/1047/60256)).
//!
//! Sent automatically, once a webhook URL is configured, when a REST API's request rate passes 80 %
//! of its limit. Its query string has no `ClientIP`.
//!
//! `ServiceName` and `Command` identify the API and are required; the two rates are optional and
//! read from numbers or numeric strings. The body has no `EventTime`.

use crate::protocol::imstr::ImStr;

use super::wire::wire_struct;

wire_struct! {
    /// `Alert.RequestOverLimit`: a REST API's request rate passed 80 % of its QPS limit
    /// (1047/60256). Answered OK.
    pub struct RequestOverLimit {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Internal service name of the API (e.g. `openim`).
        pub service_name: ImStr => "ServiceName",
        /// The API's command word (e.g. `batchsendmsg`); with `ServiceName` it names the API.
        pub command: ImStr => "Command",
        /// The observed request rate, in requests per second.
        pub request: Option<u64> => "Request",
        /// The API's limit, in requests per second.
        pub limit: Option<u64> => "Limit",
    }
}

impl RequestOverLimit {
    /// The API as `ServiceName/Command` (`openim/batchsendmsg`), as in the REST URL path
    /// `v4/<ServiceName>/<Command>`.
    pub fn api(&self) -> String {
        format!("{}/{}", self.service_name, self.command)
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of (name, input, check) rows
mod tests {
    use super::*;
    use crate::protocol::test_support;

    fn de(json: &str) -> RequestOverLimit {
        test_support::de(json)
    }

    #[test]
    fn tolerates_what_the_docs_leave_open() {
        let cases: [(&str, &str, fn(&RequestOverLimit) -> bool); 3] = [
            (
                "rates as numeric strings",
                r#"{"ServiceName":"openim","Command":"sendmsg","Request":"510","Limit":"200"}"#,
                |e| e.request == Some(510) && e.limit == Some(200),
            ),
            (
                "rate above 2^32",
                r#"{"ServiceName":"s","Command":"c","Request":4294967296}"#,
                |e| e.request == Some(4_294_967_296) && e.limit.is_none(),
            ),
            (
                "absent command in body",
                r#"{"ServiceName":"s","Command":"c"}"#,
                |e| e.callback_command.is_none() && e.api() == "s/c",
            ),
        ];
        for (name, json, check) in cases {
            let e = de(json);
            assert!(check(&e), "{name}: {e:?}");
        }
    }

    #[test]
    fn fixture_parses_fully_typed_and_round_trips() {
        let e: RequestOverLimit = test_support::fixture("Alert.RequestOverLimit");
        assert_eq!(e.api(), "openim/batchsendmsg");
        assert_eq!((e.request, e.limit), (Some(510), Some(200)));
    }
}
