//! Online status: `State.StateChange`
//! ([1047/34357](https://www.tencentcloud.com/document/product/1047/34357); mainland
//! [269/2570](https://cloud.tencent.com/document/product/269/2570)).
//!
//! Account ids are [`ImStr`](crate::ImStr)s, read as sent: any UserID form is accepted as sent.
//!
//! Spec ambiguities and how they are resolved:
//! - `CustomStatus` (the new custom status, listed only in the Chinese table, right after
//!   `Info.Reason`): no sample shows whether it sits inside `Info` or at the top level. Both places
//!   are typed as optional fields, and [`Change::custom_status`] returns whichever is present (the
//!   one inside `Info` first).
//! - `CustomStatusChange` / `SetCustomStatus` are listed only on the Chinese page; they are
//!   variants of [`Action`] / [`Reason`] like the others.
//! - `KickedDevice` is "only present on `Login`/`Register` when other devices were kicked offline",
//!   so it is optional. The overview page warns this command spells Apple platforms `IOS`:
//!   [`Platform`] reads both `iOS` and `IOS`.
//! - `EventTime` is in milliseconds and, as everywhere, read from a number or a numeric string.
//! - `Info.Action` is required although it is no id: it is what the event says (a login or a
//!   logout), as the crate's rule for required fields allows. `Reason` is optional.

use crate::protocol::imstr::ImStr;

use super::common::Platform;
use super::wire::{open_str_enum, wire_struct};

open_str_enum! {
    /// What happened to the user's connection (`Info.Action`).
    pub enum Action {
        /// The connection was established (login, or reconnect after a drop).
        Login = "Login",
        /// The connection was closed by a logout.
        Logout = "Logout",
        /// The network was lost (connection closed, app killed, or heartbeat timeout).
        Disconnect = "Disconnect",
        /// The user set a custom status (listed on the Chinese page only).
        CustomStatusChange = "CustomStatusChange",
    }
}

open_str_enum! {
    /// Why the state changed (`Info.Reason`).
    pub enum Reason {
        /// With [`Action::Login`].
        Register = "Register",
        /// With [`Action::Logout`].
        Unregister = "Unregister",
        /// With [`Action::Disconnect`]: the server saw the TCP connection close.
        LinkClose = "LinkClose",
        /// With [`Action::Disconnect`]: no heartbeat for 400 seconds.
        TimeOut = "TimeOut",
        /// With [`Action::CustomStatusChange`] (listed on the Chinese page only).
        SetCustomStatus = "SetCustomStatus",
    }
}

wire_struct! {
    /// The state change itself (`Info`).
    pub struct StateInfo {
        /// What happened.
        pub action: Action => "Action",
        /// UserID whose state changed.
        pub to_account: ImStr => "To_Account",
        /// Why it happened.
        pub reason: Option<Reason> => "Reason",
        /// The new custom status, if Tencent sends it inside `Info` (placement unconfirmed; see
        /// [`Change::custom_status`]).
        pub custom_status: Option<ImStr> => "CustomStatus",
    }
}

wire_struct! {
    /// One device kicked offline by this login (`KickedDevice[]`).
    pub struct KickedDevice {
        /// Platform of the kicked device.
        pub platform: Option<Platform> => "Platform",
    }
}

wire_struct! {
    /// `State.StateChange`: a user logged in, logged out, was disconnected, or set a custom
    /// status (1047/34357). Answered OK.
    pub struct Change {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
        /// The state change.
        pub info: StateInfo => "Info",
        /// The new custom status, if Tencent sends it at the top level (placement unconfirmed;
        /// see [`Change::custom_status`]).
        pub custom_status: Option<ImStr> => "CustomStatus",
        /// Devices kicked offline by this login; only present on `Login` when there were some.
        pub kicked_device: Option<Vec<KickedDevice>> => "KickedDevice",
    }
}

impl Change {
    /// The new custom status, wherever Tencent put it: `Info.CustomStatus`, else the top-level
    /// `CustomStatus`.
    pub fn custom_status(&self) -> Option<&str> {
        self.info
            .custom_status
            .as_deref()
            .or(self.custom_status.as_deref())
    }

    /// The platforms of the devices kicked offline, in order (empty when none were).
    pub fn kicked_platforms(&self) -> impl Iterator<Item = &Platform> {
        self.kicked_device
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d.platform.as_ref())
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of (name, input, check) rows
mod tests {
    use super::*;
    use crate::protocol::test_support;

    fn de(json: &str) -> Change {
        test_support::de(json)
    }

    #[test]
    fn tolerates_what_the_docs_leave_open() {
        let cases: [(&str, &str, fn(&Change) -> bool); 7] = [
            (
                "EventTime as a numeric string",
                r#"{"EventTime":"1629883332497","Info":{"Action":"Logout","To_Account":"u","Reason":"Unregister"}}"#,
                |e| e.event_time == Some(1_629_883_332_497) && e.info.action == Action::Logout,
            ),
            (
                "CustomStatus inside Info",
                r#"{"Info":{"Action":"CustomStatusChange","To_Account":"u","Reason":"SetCustomStatus","CustomStatus":"busy"}}"#,
                |e| e.custom_status() == Some("busy") && e.custom_status.is_none(),
            ),
            (
                "CustomStatus at top level",
                r#"{"Info":{"Action":"CustomStatusChange","To_Account":"u","Reason":"SetCustomStatus"},"CustomStatus":"away"}"#,
                |e| {
                    e.custom_status() == Some("away")
                        && e.info.reason == Some(Reason::SetCustomStatus)
                },
            ),
            (
                "upper-case IOS platform",
                r#"{"Info":{"Action":"Login","To_Account":"u","Reason":"Register"},"KickedDevice":[{"Platform":"IOS"},{"Platform":"macOS"}]}"#,
                |e| e.kicked_platforms().eq([&Platform::Ios, &Platform::Mac]),
            ),
            (
                "unknown action and reason kept and written back",
                r#"{"Info":{"Action":"Suspend","To_Account":"u","Reason":"Doze"}}"#,
                |e| {
                    let v = serde_json::to_value(e).unwrap();
                    e.info.action == Action::Other("Suspend".into())
                        && v["Info"]["Action"] == "Suspend"
                        && v["Info"]["Reason"] == "Doze"
                },
            ),
            (
                "absent Reason, KickedDevice and EventTime",
                r#"{"Info":{"Action":"Disconnect","To_Account":"u"}}"#,
                |e| {
                    e.info.reason.is_none()
                        && e.kicked_platforms().next().is_none()
                        && e.event_system_time().is_none()
                },
            ),
            (
                "TimeOut reason",
                r#"{"Info":{"Action":"Disconnect","To_Account":"u","Reason":"TimeOut"}}"#,
                |e| e.info.reason == Some(Reason::TimeOut),
            ),
        ];
        for (name, json, check) in cases {
            let e = de(json);
            assert!(check(&e), "{name}: {e:?}");
        }
        let err = serde_json::from_str::<Change>(r#"{"Info":{"Action":"Login"}}"#)
            .expect_err("missing To_Account");
        assert!(err.to_string().contains("To_Account"), "{err}");
    }

    #[test]
    fn fixture_parses_fully_typed_and_round_trips() {
        let e: Change = test_support::fixture("State.StateChange");
        assert_eq!(e.info.action, Action::Login);
        assert_eq!(e.info.to_account, "testuser316");
        assert_eq!(e.info.reason, Some(Reason::Register));
        assert!(
            e.kicked_platforms()
                .eq([&Platform::Windows, &Platform::Android])
        );
        assert_eq!(
            e.event_system_time(),
            crate::protocol::common::from_millis(Some(1_629_883_332_497))
        );
    }
}
