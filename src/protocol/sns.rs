//! Relationship-chain webhooks: friends and blocklists, `Sns.*`
//! ([1047/43468](https://www.tencentcloud.com/document/product/1047/43468),
//! [43467](https://www.tencentcloud.com/document/product/1047/43467),
//! [34359](https://www.tencentcloud.com/document/product/1047/34359)–[34362](https://www.tencentcloud.com/document/product/1047/34362)).
//!
//! The two before-events ([`PrevFriendAdd`], [`PrevFriendResponse`]) fire only for requests made by
//! clients, never for REST calls, and are answered with a [`FriendDecision`]: one `ResultItem` per
//! target, built from their `targets()`. The four after-events are answered OK.
//!
//! Account ids are [`ImStr`](crate::ImStr)s, read as sent: any UserID form is accepted as sent.
//!
//! Spec ambiguities and how they are resolved:
//! - `ClientCmd` of `Sns.CallbackFriendAdd` is documented both as `friend_add` / `friend_response`
//!   and as `FriendAdd` / `FriendResponse`: [`ClientCmd`] reads both spellings of each and writes
//!   back the one it came with (the snake-case one, which the sample uses, when built by hand).
//! - `PairList[].Initiator_Account` is documented only for `Sns.CallbackFriendAdd`; the four
//!   pair-list events share [`FriendPair`], where it is optional.
//! - The after-events document no `EventTime`; none is typed (one sent anyway lands in `extra`).
//! - Descriptive fields (remarks, group names, wording, `AddType`, `ResponseAction`, flags) are
//!   optional; the accounts and the item lists are required.

use crate::protocol::imstr::ImStr;

use super::wire::{open_str_enum, wire_struct};

pub use super::decision::FriendDecision;
pub use super::reply::FriendResult;

open_str_enum! {
    /// How a friend is added (`AddType`).
    pub enum AddType {
        /// One-way: only the requester's list gains the friend.
        Single = "Add_Type_Single",
        /// Two-way (the default).
        Both = "Add_Type_Both",
    }
}

open_str_enum! {
    /// The answer given to a friend request (`ResponseFriendItem[].ResponseAction`).
    pub enum ResponseAction {
        /// Accept and add the requester back.
        AgreeAndAdd = "Response_Action_AgreeAndAdd",
        /// Accept: let the requester add me.
        Agree = "Response_Action_Agree",
        /// Reject.
        Reject = "Response_Action_Reject",
    }
}

open_str_enum! {
    /// What created the friendship (`ClientCmd`). The docs give two spellings of each value;
    /// both are read, and an event writes back the one it came with (the enum alone writes the
    /// snake-case one).
    pub enum ClientCmd {
        /// A friend request.
        FriendAdd = "friend_add" | "FriendAdd",
        /// An answer to a friend request.
        FriendResponse = "friend_response" | "FriendResponse",
    }
}

wire_struct! {
    /// One target of a friend request (`FriendItem[]`).
    pub struct FriendItem {
        /// UserID to be added.
        pub to_account: ImStr => "To_Account",
        /// Remark `From_Account` sets for the target.
        pub remark: Option<ImStr> => "Remark",
        /// Friend list (group) `From_Account` puts the target in.
        pub group_name: Option<ImStr> => "GroupName",
        /// Source tag, `AddSource_Type_<keyword>`.
        pub add_source: Option<ImStr> => "AddSource",
        /// Request message text.
        pub add_wording: Option<ImStr> => "AddWording",
    }
}

wire_struct! {
    /// One friend request being answered (`ResponseFriendItem[]`).
    pub struct ResponseFriendItem {
        /// UserID who sent the friend request.
        pub to_account: ImStr => "To_Account",
        /// Remark `From_Account` sets for `To_Account`.
        pub remark: Option<ImStr> => "Remark",
        /// Friend list `From_Account` puts `To_Account` in.
        pub tag_name: Option<ImStr> => "TagName",
        /// The answer.
        pub response_action: Option<ResponseAction> => "ResponseAction",
    }
}

wire_struct! {
    /// One relationship of a `PairList`: `To_Account` in `From_Account`'s friend list or
    /// blocklist.
    pub struct FriendPair {
        /// Owner of the list.
        pub from_account: ImStr => "From_Account",
        /// The user added to or removed from it.
        pub to_account: ImStr => "To_Account",
        /// Who started the friend request (`Sns.CallbackFriendAdd` only).
        pub initiator_account: Option<ImStr> => "Initiator_Account",
    }
}

wire_struct! {
    /// `Sns.CallbackPrevFriendAdd`: a client asks to add friends (1047/43468). Answer with a
    /// [`FriendDecision`] (one result per target of [`targets`](Self::targets)).
    pub struct PrevFriendAdd {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID that issued the request.
        pub requester_account: ImStr => "Requester_Account",
        /// UserID that wants to add friends.
        pub from_account: ImStr => "From_Account",
        /// One entry per target.
        pub friend_item: Vec<FriendItem> => "FriendItem",
        /// One-way or two-way.
        pub add_type: Option<AddType> => "AddType",
        /// `1` for an admin force-add, else `0`.
        pub force_add_flags: Option<u32> => "ForceAddFlags",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Sns.CallbackPrevFriendResponse`: a client answers friend requests (1047/43467). Answer
    /// with a [`FriendDecision`] (one result per target of [`targets`](Self::targets)).
    pub struct PrevFriendResponse {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID that issued the response request.
        pub requester_account: ImStr => "Requester_Account",
        /// UserID answering the friend requests.
        pub from_account: ImStr => "From_Account",
        /// One entry per request being answered.
        pub response_friend_item: Vec<ResponseFriendItem> => "ResponseFriendItem",
        /// Event time, Unix milliseconds.
        pub event_time: Option<u64> => "EventTime",
    }
}

wire_struct! {
    /// `Sns.CallbackFriendAdd`: friendships were created (one-way add, accepted request, admin
    /// force-add; not the REST import) (1047/34359). Answered OK.
    pub struct FriendAdd {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The friend pairs created.
        pub pair_list: Vec<FriendPair> => "PairList",
        /// What caused it: a request or an answer.
        pub client_cmd: Option<ClientCmd> => "ClientCmd",
        /// The admin account when triggered from the backend, otherwise empty.
        pub admin_account: Option<ImStr> => "Admin_Account",
        /// `1` for an admin force-add, else `0`.
        pub force_flag: Option<u32> => "ForceFlag",
    }
}

wire_struct! {
    /// `Sns.CallbackFriendDelete`: friendships were deleted (1047/34360). Answered OK.
    pub struct FriendDelete {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The pairs deleted.
        pub pair_list: Vec<FriendPair> => "PairList",
    }
}

wire_struct! {
    /// `Sns.CallbackBlackListAdd`: users were added to blocklists (1047/34361). Answered OK.
    pub struct BlackListAdd {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The pairs added: `To_Account` is now on `From_Account`'s blocklist.
        pub pair_list: Vec<FriendPair> => "PairList",
    }
}

wire_struct! {
    /// `Sns.CallbackBlackListDelete`: users were removed from blocklists (1047/34362). Answered
    /// OK.
    pub struct BlackListDelete {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// The pairs removed.
        pub pair_list: Vec<FriendPair> => "PairList",
    }
}

impl PrevFriendAdd {
    /// The UserID of every target (`FriendItem[].To_Account`), in order.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.friend_item.iter().map(|i| i.to_account.as_str())
    }
}

impl PrevFriendResponse {
    /// The UserID of every requester answered (`ResponseFriendItem[].To_Account`), in order.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.response_friend_item
            .iter()
            .map(|i| i.to_account.as_str())
    }
}

macro_rules! pairs_accessor {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// Every pair of `PairList` as `(From_Account, To_Account)`, in order.
            pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
                self.pair_list
                    .iter()
                    .map(|p| (p.from_account.as_str(), p.to_account.as_str()))
            }
        }
    )*};
}
pairs_accessor!(FriendAdd, FriendDelete, BlackListAdd, BlackListDelete);

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of (name, input, check) rows
mod tests {
    use super::*;
    use crate::protocol::test_support::{checked as fixture, de};

    #[test]
    fn tolerates_what_the_docs_leave_open() {
        let cases: [(&str, &str, fn(&str) -> bool); 7] = [
            (
                "ForceAddFlags and EventTime as numeric strings",
                r#"{"Requester_Account":"a","From_Account":"a","FriendItem":[{"To_Account":"b"}],"ForceAddFlags":"1","EventTime":"1631777344870"}"#,
                |j| {
                    let e: PrevFriendAdd = de(j);
                    e.force_add_flags == Some(1) && e.event_time == Some(1_631_777_344_870)
                },
            ),
            (
                "absent optional item fields and AddType",
                r#"{"Requester_Account":"a","From_Account":"a","FriendItem":[{"To_Account":"b"},{"To_Account":"c"}]}"#,
                |j| {
                    let e: PrevFriendAdd = de(j);
                    e.add_type.is_none()
                        && e.friend_item[0].remark.is_none()
                        && e.targets().eq(["b", "c"])
                },
            ),
            (
                "unknown AddType kept and written back",
                r#"{"Requester_Account":"a","From_Account":"a","FriendItem":[],"AddType":"Add_Type_Future"}"#,
                |j| {
                    let e: PrevFriendAdd = de(j);
                    e.add_type == Some(AddType::Other("Add_Type_Future".into()))
                        && serde_json::to_value(&e).unwrap()["AddType"] == "Add_Type_Future"
                },
            ),
            (
                "Add_Type_Single",
                r#"{"Requester_Account":"a","From_Account":"a","FriendItem":[],"AddType":"Add_Type_Single"}"#,
                |j| de::<PrevFriendAdd>(j).add_type == Some(AddType::Single),
            ),
            (
                "camel-case ClientCmd spelling",
                r#"{"PairList":[{"From_Account":"a","To_Account":"b","Initiator_Account":"b"}],"ClientCmd":"FriendResponse"}"#,
                |j| de::<FriendAdd>(j).client_cmd == Some(ClientCmd::FriendResponse),
            ),
            (
                "no Initiator_Account in a deletion pair",
                r#"{"PairList":[{"From_Account":"a","To_Account":"b"}]}"#,
                |j| {
                    let e: FriendDelete = de(j);
                    e.pair_list[0].initiator_account.is_none() && e.pairs().eq([("a", "b")])
                },
            ),
            (
                "Response_Action_Agree and unknown action",
                r#"{"Requester_Account":"a","From_Account":"a","ResponseFriendItem":[{"To_Account":"b","ResponseAction":"Response_Action_Agree"},{"To_Account":"c","ResponseAction":"Later"}]}"#,
                |j| {
                    let e: PrevFriendResponse = de(j);
                    e.response_friend_item[0].response_action == Some(ResponseAction::Agree)
                        && e.response_friend_item[1].response_action
                            == Some(ResponseAction::Other("Later".into()))
                },
            ),
        ];
        for (name, json, check) in cases {
            assert!(check(json), "{name}");
        }
    }

    #[test]
    fn fixtures_parse_fully_typed_and_round_trip() {
        let cases: [(&str, &str, fn(&str, &str)); 6] = [
            (
                "Sns.CallbackPrevFriendAdd",
                include_str!("../../fixtures/events/Sns.CallbackPrevFriendAdd.json"),
                |n, j| {
                    let e: PrevFriendAdd = fixture(n, j);
                    assert!(e.targets().eq(["id1", "id2"]), "{n}");
                    assert_eq!(e.add_type, Some(AddType::Both), "{n}");
                    assert_eq!(
                        e.friend_item[1].add_wording.as_deref(),
                        Some("this is id2!")
                    );
                },
            ),
            (
                "Sns.CallbackPrevFriendResponse",
                include_str!("../../fixtures/events/Sns.CallbackPrevFriendResponse.json"),
                |n, j| {
                    let e: PrevFriendResponse = fixture(n, j);
                    assert!(e.targets().eq(["id1", "id2"]), "{n}");
                    let actions: Vec<_> = e
                        .response_friend_item
                        .iter()
                        .map(|i| i.response_action.clone())
                        .collect();
                    assert_eq!(
                        actions,
                        [
                            Some(ResponseAction::AgreeAndAdd),
                            Some(ResponseAction::Reject)
                        ]
                    );
                    assert_eq!(e.event_time, Some(1_631_777_645_424), "{n}");
                },
            ),
            (
                "Sns.CallbackFriendAdd",
                include_str!("../../fixtures/events/Sns.CallbackFriendAdd.json"),
                |n, j| {
                    let e: FriendAdd = fixture(n, j);
                    assert_eq!(e.client_cmd, Some(ClientCmd::FriendAdd), "{n}");
                    assert_eq!(e.force_flag, Some(1), "{n}");
                    assert_eq!(e.pair_list[2].initiator_account.as_deref(), Some("id"));
                },
            ),
            (
                "Sns.CallbackFriendDelete",
                include_str!("../../fixtures/events/Sns.CallbackFriendDelete.json"),
                |n, j| {
                    let e: FriendDelete = fixture(n, j);
                    assert!(
                        e.pairs().eq([("id", "id1"), ("id", "id2"), ("id", "id3")]),
                        "{n}"
                    );
                },
            ),
            (
                "Sns.CallbackBlackListAdd",
                include_str!("../../fixtures/events/Sns.CallbackBlackListAdd.json"),
                |n, j| {
                    let e: BlackListAdd = fixture(n, j);
                    assert_eq!(e.pairs().nth(1), Some(("id", "id2")), "{n}");
                    assert_eq!(e.callback_command.as_deref(), Some(n));
                },
            ),
            (
                "Sns.CallbackBlackListDelete",
                include_str!("../../fixtures/events/Sns.CallbackBlackListDelete.json"),
                |n, j| {
                    let e: BlackListDelete = fixture(n, j);
                    assert_eq!(e.pairs().last(), Some(("id", "id3")), "{n}");
                    assert_eq!(e.callback_command.as_deref(), Some(n));
                },
            ),
        ];
        for (name, json, check) in cases {
            check(name, json);
        }
    }

    #[test]
    fn friend_decision_answers_every_target_in_order() {
        let e: PrevFriendAdd = de(include_str!(
            "../../fixtures/events/Sns.CallbackPrevFriendAdd.json"
        ));
        let code = crate::FriendErrorCode::new(38_001).unwrap();
        let reply = FriendDecision::allow_all()
            .refuse("id2", code, "no")
            .into_reply(e.targets());
        let items = reply.result_items().unwrap();
        let got: Vec<_> = items
            .iter()
            .map(|r| (r.to_account.as_str(), r.result_code))
            .collect();
        assert_eq!(got, [("id1", 0), ("id2", 38_001)]);
    }
}
