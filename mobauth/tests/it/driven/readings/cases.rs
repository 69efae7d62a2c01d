//! The table of cases: each alternative reading beside the default's reading of the same point.

use super::{
    ACCEPTED, ALICE_ENROLLED, ALREADY_IN_PROGRESS, ALTERNATIVE, AdminDeletes, Ask, CONFIGURE, Case, DEFAULT,
    Decides, DecidesThenAsks, ENROLL, ENROLLED, ENROLLS, Garbage, HANDLE_OTP, IS_ENROLLED, LOG_IN_ALICE,
    MALFORMED, NOT_ENROLLED, NOT_ENROLLED_9021, NOT_IN_PROGRESS, OK, OtherDeviceEnrolls, PlainServer, Raw,
    ResetsWhileShowing, STATE, ServerLogged, ServerLoggedAt, Shows, SlowAnswers, StartsOtp, Want,
};

pub(super) const CASES: &[Case] = &[
    // 8. Texts: hello's name and version, and every error's message (checked on every error
    // of every case).
    Case {
        name: "hello names another driver, errors say other words",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            Ask(
                r#"{"op": "hello"}"#,
                Want::Ok(concat!(
                    r#"{"name": "mobauth reference driver (alternative readings)", "version": ""#,
                    env!("CARGO_PKG_VERSION"),
                    r#"+alternative", "protocol": 1}"#
                )),
            ),
            Garbage("this is not JSON", Want::Err(8009, "PARAMETERS_NOT_CORRECT")),
        ],
    },
    Case {
        name: "hello names the reference driver",
        readings: DEFAULT,
        server: None,
        acts: &[
            Ask(
                r#"{"op": "hello"}"#,
                Want::Ok(concat!(
                    r#"{"name": "mobauth reference driver", "version": ""#,
                    env!("CARGO_PKG_VERSION"),
                    r#"", "protocol": 1}"#
                )),
            ),
            Garbage("this is not JSON", Want::Err(8009, "PARAMETERS_NOT_CORRECT")),
        ],
    },
    // 1. QR decoding: the default reads camera-like images (also transparent light modules);
    // the alternative only clean PNGs, and a clean PNG with transparent light modules is one.
    Case {
        name: "the default reads a PNG whose light modules are transparent",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_TRANSPARENT"}"#),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "the default reads a noisy PNG and a JPEG",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_NOISY"}"#),
            Decides("deny", Want::Ok(r#"{"status": "denied"}"#)),
            StartsOtp,
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_JPEG"}"#),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "the alternative reads only clean PNGs",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Ask(r#"{"op": "handle_otp", "qr_png": "$QR_NOISY"}"#, Want::Err(10015, "INVALID_REQUEST")),
            Ask(r#"{"op": "handle_otp", "qr_png": "$QR_JPEG"}"#, Want::Err(10015, "INVALID_REQUEST")),
            ServerLogged(&[("POST", "/mobile-auth/v1/enrollments", 201)]),
            Shows(r#"{"op": "handle_otp", "qr_png": "$QR_TRANSPARENT"}"#),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "after the admin's deletion and a refused OTP request the default forgets",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            AdminDeletes,
            Ask(IS_ENROLLED, ENROLLED),
            StartsOtp,
            Ask(HANDLE_OTP, NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(STATE, Want::Ok(r#"{"authenticated": true, "enrolled": false}"#)),
            // Not enrolled as it knows: 9021 locally, no call.
            Ask(HANDLE_OTP, NOT_ENROLLED_9021),
            ServerLogged(&[
                ("POST", "/mobile-auth/v1/enrollments", 201),
                ("POST", "/mobile-auth/v1/otp/requests", 403),
            ]),
        ],
    },
    Case {
        name: "after an answer refused with 9021 the alternative forgets too (section 9: stale only until the next exchange)",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            AdminDeletes,
            Decides("accept", NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "after an answer refused with 9021 the default forgets",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            AdminDeletes,
            Decides("accept", NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "overridden by another device, the alternative forgets too after 9023",
        readings: ALTERNATIVE,
        server: Some("override-enabled"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            OtherDeviceEnrolls,
            StartsOtp,
            Ask(HANDLE_OTP, Want::Err(9023, "MOBILE_AUTHENTICATION_DISENROLLED")),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "overridden by another device, the default forgets after 9023",
        readings: DEFAULT,
        server: Some("override-enabled"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            OtherDeviceEnrolls,
            StartsOtp,
            Ask(HANDLE_OTP, Want::Err(9023, "MOBILE_AUTHENTICATION_DISENROLLED")),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    // 3. disenroll answered 9021 by the server: the default forgets the key, the alternative
    // keeps it.
    Case {
        name: "disenroll refused with 9021: the alternative keeps its key",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            AdminDeletes,
            Ask(r#"{"op": "disenroll"}"#, NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, ENROLLED),
        ],
    },
    Case {
        name: "disenroll refused with 9021: the default forgets its key",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            AdminDeletes,
            Ask(r#"{"op": "disenroll"}"#, NOT_ENROLLED_9021),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    // 4. A failed authenticate: the default keeps the earlier session, the alternative ends it.
    Case {
        name: "a failed authenticate ends the alternative's session",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(LOG_IN_ALICE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "alice", "password": "wrong"}"#,
                Want::Err(9009, "INVALID_PIN"),
            ),
            Ask(STATE, Want::Ok(r#"{"authenticated": false}"#)),
            Ask(ENROLL, Want::Err(9010, "USER_NOT_AUTHENTICATED")),
        ],
    },
    Case {
        name: "a failed authenticate keeps the default's session",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(LOG_IN_ALICE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "alice", "password": "wrong"}"#,
                Want::Err(9009, "INVALID_PIN"),
            ),
            Ask(STATE, Want::Ok(r#"{"authenticated": true}"#)),
            Ask(ENROLL, ENROLLS),
        ],
    },
    // 5. enroll without a session: the default answers 9010 itself, the alternative asks the
    // server (no bearer token) and passes its 9010 through; not configured is 10001 locally by
    // default, 9001 under the alternative (see 10).
    Case {
        name: "enroll without a session: the alternative passes the server's 9010 through",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(ENROLL, Want::Err(9001, "SERVER_NOT_REACHABLE")),
            Ask(CONFIGURE, OK),
            Ask(ENROLL, Want::Err(9010, "USER_NOT_AUTHENTICATED")),
            ServerLogged(&[("POST", "/mobile-auth/v1/enrollments", 401)]),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "enroll without a session: the default answers 9010 itself",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            Ask(ENROLL, Want::Err(10001, "CONFIGURATION_ERROR")),
            Ask(CONFIGURE, OK),
            Ask(ENROLL, Want::Err(9010, "USER_NOT_AUTHENTICATED")),
            ServerLogged(&[]),
        ],
    },
    // 6. is_enrolled with nobody logged in: false by default; the last logged-in user's
    // enrollment as the device knows it under the alternative. With another user logged in it
    // is false in both (fixed by the contract).
    Case {
        name: "signed out, the alternative reports the last user's enrollment",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            Ask(r#"{"op": "logout"}"#, OK),
            Ask(IS_ENROLLED, ENROLLED),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": true}"#)),
            Ask(r#"{"op": "authenticate", "username": "bob", "password": "bob-password"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(r#"{"op": "logout"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(LOG_IN_ALICE, OK),
            Ask(r#"{"op": "reset"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
        ],
    },
    Case {
        name: "signed out, the default reports not enrolled",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            Ask(r#"{"op": "logout"}"#, OK),
            Ask(IS_ENROLLED, NOT_ENROLLED),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": false}"#)),
            Ask(LOG_IN_ALICE, OK),
            Ask(IS_ENROLLED, ENROLLED),
        ],
    },
    // 7. Token errors other than invalid_grant and invalid_client (here invalid_request, for an
    // empty username): 10000 by default, 10001 under the alternative.
    Case {
        name: "the token endpoint's invalid_request is a configuration error to the alternative",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "", "password": "x"}"#,
                Want::Err(10001, "CONFIGURATION_ERROR"),
            ),
            Ask(LOG_IN_ALICE, OK),
        ],
    },
    Case {
        name: "the token endpoint's invalid_request is a general error to the default",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            Ask(
                r#"{"op": "authenticate", "username": "", "password": "x"}"#,
                Want::Err(10000, "GENERAL_ERROR"),
            ),
            Ask(LOG_IN_ALICE, OK),
        ],
    },
    // 9. configure: the default makes no call, the alternative probes the base URL (and
    // answers {} whatever it finds, also with no server there).
    Case {
        name: "configure: the alternative probes the server",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            Ask(CONFIGURE, OK),
            ServerLoggedAt("/", 1),
            Ask(
                r#"{"op": "configure", "server_url": "http://127.0.0.1:9", "app_client_id": "mobauth-app"}"#,
                OK,
            ),
        ],
    },
    Case {
        name: "configure: the default makes no call",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[Ask(CONFIGURE, OK), ServerLoggedAt("/", 0)],
    },
    // 10. authenticate and enroll before any configure: 10001 by default, 9001 under the
    // alternative; handle_otp's 10001 is fixed (section 9) and the same in both.
    Case {
        name: "unconfigured, the alternative has no server to reach",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            Ask(LOG_IN_ALICE, Want::Err(9001, "SERVER_NOT_REACHABLE")),
            Ask(ENROLL, Want::Err(9001, "SERVER_NOT_REACHABLE")),
            Ask(r#"{"op": "handle_otp", "otp": "x"}"#, Want::Err(10001, "CONFIGURATION_ERROR")),
        ],
    },
    Case {
        name: "unconfigured, the default is a configuration error",
        readings: DEFAULT,
        server: None,
        acts: &[
            Ask(LOG_IN_ALICE, Want::Err(10001, "CONFIGURATION_ERROR")),
            Ask(ENROLL, Want::Err(10001, "CONFIGURATION_ERROR")),
            Ask(r#"{"op": "handle_otp", "otp": "x"}"#, Want::Err(10001, "CONFIGURATION_ERROR")),
        ],
    },
    // 11. A request right after a decision whose answer the server holds: the alternative answers
    // a state at once, before close_auth_otp, and holds anything else (here a second accept,
    // then 8053) until the decision lands; the default answers both after handle_otp's reply.
    Case {
        name: "the alternative answers a state while the decision is in flight",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            SlowAnswers(1500),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "accept",
                ACCEPTED,
                STATE,
                Want::Ok(r#"{"authenticated": true, "enrolled": true}"#),
                true,
            ),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "deny",
                Want::Ok(r#"{"status": "denied"}"#),
                r#"{"op": "accept"}"#,
                NOT_IN_PROGRESS,
                false,
            ),
        ],
    },
    Case {
        name: "the default finishes the decision before the next request",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            SlowAnswers(1500),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "accept",
                ACCEPTED,
                STATE,
                Want::Ok(r#"{"authenticated": true, "enrolled": true}"#),
                false,
            ),
            StartsOtp,
            Shows(HANDLE_OTP),
            DecidesThenAsks(
                "deny",
                Want::Ok(r#"{"status": "denied"}"#),
                r#"{"op": "accept"}"#,
                NOT_IN_PROGRESS,
                false,
            ),
        ],
    },
    // 12. A second handle_otp while one shows: the default answers 8056 before its local
    // checks, the alternative after them (a malformed OTP is 10015 then); the showing request
    // goes on in both.
    Case {
        name: "a second handle_otp: the alternative checks the OTP before 8056",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            Ask(r#"{"op": "handle_otp", "otp": "AQ=="}"#, Want::Err(10015, "INVALID_REQUEST")),
            Ask(HANDLE_OTP, ALREADY_IN_PROGRESS),
            Decides("accept", ACCEPTED),
        ],
    },
    Case {
        name: "a second handle_otp: the default answers 8056 first",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            Ask(r#"{"op": "handle_otp", "otp": "AQ=="}"#, ALREADY_IN_PROGRESS),
            Ask(HANDLE_OTP, ALREADY_IN_PROGRESS),
            Decides("accept", ACCEPTED),
        ],
    },
    // 13. A reset while a request shows: the alternative's reply comes first, the default's after
    // close_auth_otp and the 9006.
    Case {
        name: "a reset while showing: the alternative replies first",
        readings: ALTERNATIVE,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            ResetsWhileShowing(true),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": false}"#)),
        ],
    },
    Case {
        name: "a reset while showing: the default replies last",
        readings: DEFAULT,
        server: Some("default"),
        acts: &[
            ALICE_ENROLLED[0],
            ALICE_ENROLLED[1],
            ALICE_ENROLLED[2],
            StartsOtp,
            Shows(HANDLE_OTP),
            ResetsWhileShowing(false),
            Ask(STATE, Want::Ok(r#"{"authenticated": false, "enrolled": false}"#)),
        ],
    },
    // 14. A request whose id is not an integer: 8009 with "id": null by default, with the id as
    // found under the alternative; a line that is not JSON is null in both (section 9).
    Case {
        name: "a malformed id: the alternative echoes it",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            Raw(r#"{"id": "seven", "op": "state"}"#, MALFORMED, r#""seven""#),
            Raw(r#"{"id": 2.5, "op": "state"}"#, MALFORMED, "2.5"),
            Raw(r#"{"op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"id": 3, "op": "state""#, MALFORMED, "null"),
        ],
    },
    Case {
        name: "a malformed id: the default answers null",
        readings: DEFAULT,
        server: None,
        acts: &[
            Raw(r#"{"id": "seven", "op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"id": 2.5, "op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"op": "state"}"#, MALFORMED, "null"),
            Raw(r#"{"id": 3, "op": "state""#, MALFORMED, "null"),
        ],
    },
    // 15. A 4xx without an error body of any API: 10000 by default, 10001 under the alternative.
    Case {
        name: "a plain 404: a configuration error to the alternative",
        readings: ALTERNATIVE,
        server: None,
        acts: &[
            PlainServer,
            Ask(r#"{"op": "configure", "server_url": "$PLAIN", "app_client_id": "mobauth-app"}"#, OK),
            Ask(LOG_IN_ALICE, Want::Err(10001, "CONFIGURATION_ERROR")),
        ],
    },
    Case {
        name: "a plain 404: a general error to the default",
        readings: DEFAULT,
        server: None,
        acts: &[
            PlainServer,
            Ask(r#"{"op": "configure", "server_url": "$PLAIN", "app_client_id": "mobauth-app"}"#, OK),
            Ask(LOG_IN_ALICE, Want::Err(10000, "GENERAL_ERROR")),
        ],
    },
];
