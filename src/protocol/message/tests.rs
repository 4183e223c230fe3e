use super::*;
use serde_json::{Value, json};

/// The element samples of the Message Formats page (spec §4.2), one per `MsgType`.
fn samples() -> Vec<(&'static str, Value)> {
    vec![
        (
            TEXT,
            json!({"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello world"}}),
        ),
        (
            LOCATION,
            json!({"MsgType": "TIMLocationElem", "MsgContent": {"Desc": "someinfo", "Latitude": 29.340656774469956, "Longitude": 116.77497920478824}}),
        ),
        (
            FACE,
            json!({"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "content"}}),
        ),
        (
            CUSTOM,
            json!({"MsgType": "TIMCustomElem", "MsgContent": {"Data": "message", "Desc": "notification", "Ext": "url", "Sound": "dingdong.aiff"}}),
        ),
        (
            SOUND,
            json!({"MsgType": "TIMSoundElem", "MsgContent": {"Url": "https://1234-5678187359-1253735226.cos.ap-shanghai.myqcloud.com/abc123/c9be9d32c05bfb77b3edafa4312c6c7d", "UUID": "1053D4B3D61040894AC3DE44CDF28B3EC7EB7C0F", "Size": 62351, "Second": 1, "Download_Flag": 2}}),
        ),
        (
            IMAGE,
            json!({"MsgType": "TIMImageElem", "MsgContent": {"UUID": "1853095_D61040894AC3DE44CDFFFB3EC7EB720F", "ImageFormat": 1, "ImageInfoArray": [
                {"Type": 1, "Size": 1853095, "Width": 2448, "Height": 3264, "URL": "http://xxx/3200490432214177468_144115198371610486_D61040894AC3DE44CDFFFB3EC7EB720F/0"},
                {"Type": 2, "Size": 2565240, "Width": 0, "Height": 0, "URL": "http://xxx/3200490432214177468_144115198371610486_D61040894AC3DE44CDFFFB3EC7EB720F/720"},
                {"Type": 3, "Size": 12535, "Width": 0, "Height": 0, "URL": "http://xxx/3200490432214177468_144115198371610486_D61040894AC3DE44CDFFFB3EC7EB720F/198"}]}}),
        ),
        (
            FILE,
            json!({"MsgType": "TIMFileElem", "MsgContent": {"Url": "https://7492-5678539059-1253735326.cos.ap-shanghai.myqcloud.com/abc123/49be9d32c0fbfba7b31dafa4312c6c7d", "UUID": "1053D4B3D61040894AC3DE44CDF28B3EC7EB7C0F", "FileSize": 1773552, "FileName": "file:///private/var/Application/tmp/trim.B75D5F9B-1426-4913-8845-90DD46797FCD.MOV", "Download_Flag": 2}}),
        ),
        (
            VIDEO_FILE,
            json!({"MsgType": "TIMVideoFileElem", "MsgContent": {"VideoUrl": "https://0345-1400187352-1256635546.cos.ap-shanghai.myqcloud.com/abcd/f7c6ad3c50af7d83e23efe0a208b90c9", "VideoUUID": "5da38ba89d6521011e1f6f3fd6692e35", "VideoSize": 1194603, "VideoSecond": 5, "VideoFormat": "mp4", "VideoDownloadFlag": 2, "ThumbUrl": "https://0345-1400187352-1256635546.cos.ap-shanghai.myqcloud.com/abcd/a6c170c9c599280cb06e0523d7a1f37b", "ThumbUUID": "6edaffedef5150684510cf97957b7bc8", "ThumbSize": 13907, "ThumbWidth": 720, "ThumbHeight": 1280, "ThumbFormat": "JPG", "ThumbDownloadFlag": 2}}),
        ),
        (
            RELAY,
            json!({"MsgType": "TIMRelayElem", "MsgContent": {"Title": "Group chat history", "MsgNum": 2, "CompatibleText": "The SDK version does not support combined messages. Please upgrade to the latest version.", "AbstractList": ["A: What do you think of this?", "B: I think it's great."], "MsgList": [
                {"From_Account": "A", "GroupId": "group1", "MsgSeq": 85, "MsgRandom": 3998651049u32, "MsgTimeStamp": 1664437702, "MsgBody": [{"MsgContent": {"Text": " What do you think of this?"}, "MsgType": "TIMTextElem"}]},
                {"From_Account": "B", "GroupId": "group1", "MsgSeq": 86, "MsgRandom": 965790, "MsgTimeStamp": 1664437703, "MsgBody": [{"MsgContent": {"Text": "I think it's great."}, "MsgType": "TIMTextElem"}]}]}}),
        ),
    ]
}

#[test]
fn every_documented_element_parses_typed_and_round_trips() {
    for (msg_type, sample) in samples() {
        let elem: MsgElement =
            serde_json::from_value(sample.clone()).unwrap_or_else(|e| panic!("{msg_type}: {e}"));
        assert_eq!(elem.msg_type(), msg_type);
        assert!(
            !matches!(elem.content, MsgContent::Unknown { .. }),
            "{msg_type} parsed as unknown"
        );
        assert_eq!(serde_json::to_value(&elem).unwrap(), sample, "{msg_type}");
    }
}

#[test]
fn documented_field_values_land_in_typed_fields() {
    let all: Vec<MsgElement> = samples()
        .into_iter()
        .map(|(_, v)| serde_json::from_value(v).unwrap())
        .collect();
    let MsgContent::Image(img) = &all[5].content else {
        panic!("image")
    };
    let infos = img.image_info_array.as_ref().unwrap();
    assert_eq!(infos.len(), 3);
    assert_eq!(
        (infos[0].kind, infos[0].width, infos[0].height),
        (Some(1), Some(2448), Some(3264))
    );
    let MsgContent::Relay(relay) = &all[8].content else {
        panic!("relay")
    };
    let list = relay.msg_list.as_ref().unwrap();
    assert_eq!(list[0].msg_random, Some(3998651049));
    assert_eq!(
        list[1].msg_body.as_ref().unwrap()[0].as_text(),
        Some("I think it's great.")
    );
    let MsgContent::Location(loc) = &all[1].content else {
        panic!("location")
    };
    assert_eq!(loc.latitude, 29.340656774469956);
}

#[test]
fn unknown_types_and_keys_are_kept_losslessly() {
    let cases = [
        json!({"MsgType": "TIMFutureElem", "MsgContent": {"A": [1, {"b": null}]}}),
        json!({"MsgContent": {"A": 1}, "MsgType": "TIMFutureElem"}),
        json!({"MsgType": "TIMFutureElem"}),
        json!({"MsgType": "TIMTextElem", "MsgContent": {"Text": "x", "TextExt": {"bold": true}}, "Priority": 3}),
    ];
    for sample in cases {
        let elem: MsgElement = serde_json::from_value(sample.clone()).unwrap();
        assert_eq!(serde_json::to_value(&elem).unwrap(), sample);
    }
}

#[test]
fn content_before_type_is_still_typed() {
    let elem: MsgElement =
        serde_json::from_str(r#"{"MsgContent":{"Text":"late"},"MsgType":"TIMTextElem"}"#).unwrap();
    assert_eq!(elem.as_text(), Some("late"));
}

#[test]
fn malformed_elements_are_errors_not_guesses() {
    let cases = [
        (
            "no type",
            r#"{"MsgContent":{"Text":"x"}}"#,
            "missing field `MsgType`",
        ),
        (
            "no content",
            r#"{"MsgType":"TIMTextElem"}"#,
            "missing field `MsgContent`",
        ),
        (
            "wrong text type",
            r#"{"MsgType":"TIMTextElem","MsgContent":{"Text":1}}"#,
            "invalid type",
        ),
        (
            "late wrong type",
            r#"{"MsgContent":{"Text":1},"MsgType":"TIMTextElem"}"#,
            "MsgContent: invalid type",
        ),
        (
            "duplicate type",
            r#"{"MsgType":"a","MsgType":"b"}"#,
            "duplicate field `MsgType`",
        ),
    ];
    for (name, input, want) in cases {
        let err = serde_json::from_str::<MsgElement>(input)
            .expect_err(name)
            .to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
}
