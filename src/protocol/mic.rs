//! Seat webhooks: `Mic.CallbackAfterSeatInfoChanged`
//! ([647/60736](https://www.tencentcloud.com/document/product/647/60736) for TUIRoomKit rooms,
//! [647/64425](https://www.tencentcloud.com/document/product/647/64425) for TUILiveKit live rooms).
//!
//! One command, sent by two backends: TUIRoomKit lists it with its `Room.*` webhooks, TUILiveKit
//! with its `Live.*` ones (which this crate does not type). That is why it is a family of its own
//! rather than part of [`room`](crate::room): the name says `Mic`, and the body is the same
//! whichever product sent it, save that the room copy documents `Operator_Account` and the live
//! copy does not. It is a notification answered with the usual OK, whose result is ignored; the
//! signature question of [`room`](crate::room) applies to it too.
//!
//! Required fields, as the crate's rule (a field is required only when the event cannot be acted on without it; see [`Handler::on_unparsed`](crate::Handler::on_unparsed)) says for every family: the room
//! and its seats, each seat by its `Index`; the rest is optional. `Operator_Account` is optional
//! because the live copy has none.
//!
//! How the gaps and contradictions of the pages are resolved:
//! - `Member_Account` is typed String but both samples print it as a number (`144115233775727695`):
//!   it is an [`Id`], read from either. An empty seat is documented two ways: an empty
//!   `Member_Account` (room page) or none at all (live page); [`Seat::occupant`] reads both as
//!   empty.
//! - Neither page documents `EventTime`, but both samples send it (milliseconds): it is read.
//! - Both samples carry `//` comments and miss the comma after `SeatList`; the fixture (the room
//!   page's sample) drops the comments and adds the comma.

use crate::protocol::imstr::ImStr;

use super::common::Id;
use super::wire::wire_struct;

wire_struct! {
    /// One seat (`SeatList[]`).
    pub struct Seat {
        /// The seat's number.
        pub index: u32 => "Index",
        /// UserID of who sits there; empty or absent when the seat is free (see
        /// [`occupant`](Self::occupant)).
        pub member_account: Option<Id> => "Member_Account",
        /// The seat is locked: nobody may take it.
        pub is_taken_disabled: Option<bool> => "IsTakenDisabled",
        /// Video is disabled on this seat.
        pub is_video_disabled: Option<bool> => "IsVideoDisabled",
        /// Audio is disabled on this seat.
        pub is_audio_disabled: Option<bool> => "IsAudioDisabled",
    }
}

impl Seat {
    /// UserID of who sits there, `None` for a free seat (no `Member_Account`, or an empty one).
    pub fn occupant(&self) -> Option<&str> {
        self.member_account
            .as_deref()
            .filter(|account| !account.is_empty())
    }
}

wire_struct! {
    /// `Mic.CallbackAfterSeatInfoChanged`: seats of a room changed: a user took or was moved off
    /// a seat, or a seat was locked (647/60736, 647/64425). Answered OK.
    pub struct AfterSeatInfoChanged {
        /// The command, repeated in the body.
        pub callback_command: Option<ImStr> => "CallbackCommand",
        /// UserID of who made the change (TUIRoomKit only).
        pub operator_account: Option<Id> => "Operator_Account",
        /// The room.
        pub room_id: ImStr => "RoomId",
        /// The seats.
        pub seat_list: Vec<Seat> => "SeatList",
        /// Event time, Unix milliseconds (in the samples, not in the field tables).
        pub event_time: Option<u64> => "EventTime",
    }
}

impl AfterSeatInfoChanged {
    /// The occupied seats: each seat's index and its occupant, in order.
    pub fn occupants(&self) -> impl Iterator<Item = (u32, &str)> {
        self.seat_list
            .iter()
            .filter_map(|seat| Some((seat.index, seat.occupant()?)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::test_support::fixture;

    #[test]
    fn the_fixture_parses_fully_typed() {
        let e: AfterSeatInfoChanged = fixture("Mic.CallbackAfterSeatInfoChanged");
        assert_eq!(e.room_id, "rid-123");
        assert_eq!(e.operator_account.as_deref(), Some("user1"));
        assert_eq!(
            e.occupants().collect::<Vec<_>>(),
            [(1, "144115233775727695")]
        );
        let seat = &e.seat_list[0];
        assert!(seat.member_account.as_ref().is_some_and(Id::is_numeric));
        assert_eq!(
            (
                seat.is_taken_disabled,
                seat.is_video_disabled,
                seat.is_audio_disabled
            ),
            (Some(false), Some(false), Some(false))
        );
        assert_eq!(e.event_time, Some(1670574414123));
    }

    #[test]
    fn free_seats_are_read_both_documented_ways() {
        let e: AfterSeatInfoChanged = serde_json::from_value(json!({"RoomId": "live-1",
            "SeatList": [{"Index": 0, "Member_Account": ""}, {"Index": "1"},
                         {"Index": 2, "Member_Account": "bob", "IsTakenDisabled": "true"}]}))
        .unwrap();
        assert_eq!(e.operator_account, None, "the live copy has none");
        assert_eq!(
            e.seat_list.iter().map(Seat::occupant).collect::<Vec<_>>(),
            [None, None, Some("bob")]
        );
        assert_eq!(e.occupants().collect::<Vec<_>>(), [(2, "bob")]);
        assert_eq!(e.seat_list[2].is_taken_disabled, Some(true));
        let err = serde_json::from_value::<AfterSeatInfoChanged>(
            json!({"RoomId": "r", "SeatList": [{"Member_Account": "a"}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing field `Index`"), "{err}");
    }
}
