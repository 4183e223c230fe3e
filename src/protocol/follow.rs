//! Follow / fans webhooks: `Follow.*`
//! ([1047/70355](https://www.tencentcloud.com/document/product/1047/70355),
//! [70356](https://www.tencentcloud.com/document/product/1047/70356)).
//!
//! Both fire after the change succeeded, from a client or from the REST API, and are answered OK.
//! Account ids are [`ImStr`](crate::ImStr)s, read as sent: any UserID form is accepted as sent.
//!
//! Spec ambiguity: the two commands carry the followed users differently, as the docs show —
//! `FollowList[].To_Account` (objects) for a follow, a plain `To_Account` array of UserIDs for an
//! unfollow. Each is typed as documented; [`AfterAdd::followed`] and [`AfterDelete::unfollowed`]
//! give the same view of both. `EventTime` is in milliseconds (number or numeric string).

use crate::protocol::imstr::ImStr;

use super::wire::wire_struct;

wire_struct! {
    /// One user followed (`FollowList[]`).
    pub struct FollowItem {
        /// The followed UserID.
        pub to_account: ImStr => "To_Account",
    }
}

wire_struct! {
    /// `Follow.CallbackAfterFollowAdd`: a user followed other users (1047/70355). Answered OK.
    pub struct AfterAdd {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The follower.
        pub from_account: ImStr => "From_Account",
        /// The users successfully followed.
        pub follow_list: Vec<FollowItem> => "FollowList",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Follow.CallbackAfterFollowDelete`: a user unfollowed other users (1047/70356). Answered
    /// OK.
    pub struct AfterDelete {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The user who unfollowed.
        pub from_account: ImStr => "From_Account",
        /// The UserIDs unfollowed (a plain array of strings, unlike `FollowList`).
        pub to_account: Vec<ImStr> => "To_Account",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

impl AfterAdd {
    /// The UserIDs followed (`FollowList[].To_Account`), in order.
    pub fn followed(&self) -> impl Iterator<Item = &str> {
        self.follow_list.iter().map(|f| f.to_account.as_str())
    }
}

impl AfterDelete {
    /// The UserIDs unfollowed (`To_Account`), in order.
    pub fn unfollowed(&self) -> impl Iterator<Item = &str> {
        self.to_account.iter().map(ImStr::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of (name, input, check) rows
mod tests {
    use super::*;
    use crate::protocol::test_support::{checked as fixture, de};

    #[test]
    fn tolerates_what_the_docs_leave_open() {
        let cases: [(&str, &str, fn(&str) -> bool); 4] = [
            (
                "EventTime as a numeric string",
                r#"{"From_Account":"a","FollowList":[{"To_Account":"b"}],"EventTime":"1702018343678"}"#,
                |j| de::<AfterAdd>(j).event_time == Some(1_702_018_343_678),
            ),
            (
                "absent EventTime",
                r#"{"From_Account":"a","To_Account":["b"]}"#,
                |j| de::<AfterDelete>(j).event_system_time().is_none(),
            ),
            (
                "unknown key in a follow item is kept",
                r#"{"From_Account":"a","FollowList":[{"To_Account":"b","Remark":"x"}]}"#,
                |j| {
                    let e: AfterAdd = de(j);
                    e.follow_list[0].extra.get_as::<String>("Remark").as_deref() == Some("x")
                        && e.followed().eq(["b"])
                },
            ),
            (
                "empty unfollow list",
                r#"{"From_Account":"a","To_Account":[]}"#,
                |j| de::<AfterDelete>(j).unfollowed().next().is_none(),
            ),
        ];
        for (name, json, check) in cases {
            assert!(check(json), "{name}");
        }
        let err = serde_json::from_str::<AfterDelete>(r#"{"From_Account":"a","To_Account":"b"}"#)
            .expect_err("a single string is not the documented array");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn fixtures_parse_fully_typed_and_round_trip() {
        let cases: [(&str, &str, fn(&str, &str)); 2] = [
            (
                "Follow.CallbackAfterFollowAdd",
                include_str!("../../fixtures/events/Follow.CallbackAfterFollowAdd.json"),
                |n, j| {
                    let e: AfterAdd = fixture(n, j);
                    assert_eq!(e.from_account, "UserID_001", "{n}");
                    assert!(e.followed().eq(["UserID_002", "UserID_003"]), "{n}");
                    assert_eq!(e.event_time, Some(1_702_018_343_678), "{n}");
                },
            ),
            (
                "Follow.CallbackAfterFollowDelete",
                include_str!("../../fixtures/events/Follow.CallbackAfterFollowDelete.json"),
                |n, j| {
                    let e: AfterDelete = fixture(n, j);
                    assert_eq!(e.from_account, "UserID_001", "{n}");
                    assert!(e.unfollowed().eq(["UserID_002", "UserID_003"]), "{n}");
                    assert_eq!(e.event_time, Some(1_702_018_343_678), "{n}");
                },
            ),
        ];
        for (name, json, check) in cases {
            check(name, json);
        }
    }
}
