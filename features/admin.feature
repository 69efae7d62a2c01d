Feature: The test-control (admin) API
  The harness sets a server up and watches it through /_admin/v1: its settings, its clock, users
  and clients, injected faults, a reset and the log of exchanges. Every call carries the admin
  token as a Bearer token. A server under test may lack this API; the scenarios that need it are
  then not applicable. The contract names few statuses and bodies of its replies: where it names
  none, a scenario takes any 2xx and reads the outcome back.

  Requests are written as they go over the wire, as in general.feature: "the admin" sends with
  the admin token, "a client" with no credentials, and a name in braces stands for the value the
  scenario knows by that name ({unique carol} is a name nobody else uses).

  # ---------------------------------------------------------------- errors

  @ADM-002 @must @server-wide
  Scenario Outline: A call without the admin token is refused with 20002
    Given "Alice" has enrolled the device "phone"
    When a client sends <method> "<path>" <body>
    Then the response is refused with 401 20002 ADMIN_UNAUTHORIZED
    And the server reports "phone" as enrolled for "Alice"

    Examples:
      | method | path                                                                  | body                                                                            |
      | GET    | /_admin/v1/config                                                     |                                                                                 |
      | PUT    | /_admin/v1/config                                                     | with the JSON body '{"enrollment_mode": "multiple_devices"}'                    |
      | GET    | /_admin/v1/clock                                                      |                                                                                 |
      | POST   | /_admin/v1/clock                                                      | with the JSON body '{"advance_ms": 1000}'                                       |
      | POST   | /_admin/v1/users                                                      | with the JSON body '{"username": "{unique carol}", "password": "carol-secret"}' |
      | DELETE | /_admin/v1/users/{username of Alice}/enrollments/{device_id of phone} |                                                                                 |
      | POST   | /_admin/v1/api-clients                                                | with the JSON body '{"client_id": "{unique shop}", "client_secret": "s"}'       |
      | POST   | /_admin/v1/app-clients                                                | with the JSON body '{"client_id": "{unique app}"}'                              |
      | PUT    | /_admin/v1/faults                                                     | with the JSON body '[]'                                                         |
      | POST   | /_admin/v1/reset                                                      | with the JSON body '{}'                                                         |
      | GET    | /_admin/v1/events?since=0                                             |                                                                                 |

  @ADM-002 @must
  Scenario Outline: Only the admin token, in the Bearer scheme, opens the test-control API
    Given "Alice" is logged in on the device "phone"
    When a client sends GET "/_admin/v1/config" with the header 'Authorization: <authorization>'
    Then the response is refused with 401 20002 ADMIN_UNAUTHORIZED

    Examples:
      | authorization               |
      | Bearer {unique wrong-token} |
      | Bearer {admin token}x       |
      | Basic {admin token}         |
      | {admin token}               |
      | Bearer                      |
      | Bearer {token of phone}     |

  @ADM-002 @must @server-wide
  Scenario Outline: A test-control call whose body is not JSON, or lacks a member it needs, is refused with 20001
    When the admin sends <method> "<path>" <body>
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST

    Examples:
      | what                        | method | path                   | body                                                  |
      | bad JSON                    | POST   | /_admin/v1/clock       | with the JSON body '{"advance_ms": '                  |
      | bad JSON                    | PUT    | /_admin/v1/config      | with the JSON body 'mobile_auth_enabled: false'       |
      | bad JSON                    | POST   | /_admin/v1/users       | with the JSON body '{"username": "{unique carol}",'   |
      | no body                     | POST   | /_admin/v1/clock       | without a Content-Type                                |
      | no member                   | POST   | /_admin/v1/clock       | with the JSON body '{}'                               |
      | a list instead of an object | POST   | /_admin/v1/clock       | with the JSON body '[1000]'                           |
      | no password                 | POST   | /_admin/v1/users       | with the JSON body '{"username": "{unique carol}"}'   |
      | no username                 | POST   | /_admin/v1/users       | with the JSON body '{"password": "carol-password"}'   |
      | a list instead of an object | POST   | /_admin/v1/users       | with the JSON body '["{unique carol}", "pw"]'         |
      | no client_id                | POST   | /_admin/v1/api-clients | with the JSON body '{"client_secret": "shop-secret"}' |
      | no client_secret            | POST   | /_admin/v1/api-clients | with the JSON body '{"client_id": "{unique shop}"}'   |
      | no client_id                | POST   | /_admin/v1/app-clients | with the JSON body '{}'                               |

  @ADM-002 @must @server-wide
  Scenario: A refused clock move leaves the clock where it was
    Given the server's clock reading is remembered as "before"
    When the admin sends POST "/_admin/v1/clock" with the JSON body '{}'
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST
    And the server's clock reads 0 ms after "before", plus at most the real time since

  @ADM-002 @must
  Scenario Outline: A call about something that does not exist is refused with 20004
    Given "Alice" has enrolled the device "phone"
    When the admin sends <method> "<path>"
    Then the response is refused with 404 20004 ADMIN_NOT_FOUND

    Examples:
      | what            | method | path                                                              |
      | an unknown user | DELETE | /_admin/v1/users/{unique nobody}/enrollments/{device_id of phone} |

  # ---------------------------------------------------------------- configuration

  @ADM-003 @must
  Scenario: The configuration of a server started with the defaults
    When the admin sends GET "/_admin/v1/config"
    Then the response status is 200
    And the response body contains the JSON:
      """
      {
        "mobile_auth_enabled": true,
        "enrollment_enabled": true,
        "enrollment_mode": "single_device",
        "message_max_length": 155,
        "otp_types": [{"name": "qr-code", "expires_in_s": 300}],
        "callback_whitelist": [],
        "callback_retries": 3,
        "access_token_ttl_s": 3600
      }
      """
    And the response member "otp_types[0].default_message" is a string

  @ADM-004 @must @server-wide
  Scenario: PUT config replaces the whole configuration, filling each missing key with its default, not its earlier value
    Given the server's setting "message_max_length" is 20
    And the server's setting "callback_retries" is 0
    And the server's setting "access_token_ttl_s" is 60
    When the admin sends PUT "/_admin/v1/config" with the JSON body:
      """
      {"enrollment_mode": "multiple_devices",
       "otp_types": [{"name": "push", "expires_in_s": 300}, {"name": "sms", "expires_in_s": 60, "default_message": "Sign in?"}]}
      """
    Then the response status is a success
    When the admin sends GET "/_admin/v1/config"
    Then the response body contains the JSON:
      """
      {
        "mobile_auth_enabled": true,
        "enrollment_enabled": true,
        "enrollment_mode": "multiple_devices",
        "message_max_length": 155,
        "otp_types": [{"name": "push", "expires_in_s": 300}, {"name": "sms", "expires_in_s": 60, "default_message": "Sign in?"}],
        "callback_whitelist": [],
        "callback_retries": 3,
        "access_token_ttl_s": 3600
      }
      """

  # A token's expires_in may fall a little short of its lifetime, so the lifetime of 90 s is
  # checked 10 s before and 10 s after it.
  @ADM-004 @must @server-wide
  Scenario: A new configuration applies to every request made after it
    Given a user "Alice"
    When the admin sends PUT "/_admin/v1/config" with the JSON body '{"access_token_ttl_s": 90, "message_max_length": 6, "otp_types": [{"name": "push", "expires_in_s": 60}]}'
    Then the response status is a success
    When "Alice" asks for a token
    Then the response status is 200
    And the response member "access_token" is remembered as "short token"
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=push&callback_uri={callback_uri}&message=Log+in%3F'
    Then the response is refused with 400 1005 MESSAGE_TOO_LONG
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=push&callback_uri={callback_uri}&message=Login%3F'
    Then the response status is 200
    And the response member "time_to_live" equals 60000
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}&message=Login'
    Then the response is refused with 404 3005 AUTHENTICATION_TYPE_NOT_FOUND
    When the server's clock moves on by 80000 ms
    Then the device API accepts the access token "{short token}"
    When the server's clock moves on by 20000 ms
    Then the device API refuses the access token "{short token}"

  @ADM-005 @must @server-wide
  Scenario Outline: An invalid configuration is refused and the configuration stays as it was
    Given the server's setting "message_max_length" is 99
    And the server's configuration is remembered as "before"
    When the admin sends PUT "/_admin/v1/config" with the JSON body '<configuration>'
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST
    And the server's configuration equals "before"

    Examples: an unknown top-level key
      | why            | configuration                                    |
      | an unknown key | {"message_max_length": 120, "sms_enabled": true} |

    Examples: an unknown enrollment mode
      | why                       | configuration                        |
      | a mode the contract lacks | {"enrollment_mode": "sometimes"}     |
      | a mode in other case      | {"enrollment_mode": "SINGLE_DEVICE"} |

    Examples: wrong JSON types
      | why                          | configuration                                   |
      | text for a switch            | {"mobile_auth_enabled": "yes"}                  |
      | a number for a mode          | {"enrollment_mode": 1}                          |
      | text for a list              | {"callback_whitelist": "https://shop.example/"} |
      | text for a number            | {"access_token_ttl_s": "3600"}                  |
      | an object for the OTP types  | {"otp_types": {"name": "push"}}                 |
      | a list for the configuration | []                                              |

  # The contract does not say whether these values are valid: a server may take them or refuse
  # them with 20001, and either way it answers in the admin API's shape.
  @ADM-005 @must @server-wide
  Scenario Outline: A configuration the contract does not rule on is taken or refused with 20001
    When the admin sends PUT "/_admin/v1/config" with the JSON body '<configuration>'
    Then the response is a success or refused with 400 20001 INVALID_ADMIN_REQUEST

    Examples:
      | why                           | configuration                                                                                 |
      | an unknown key in an OTP type | {"otp_types": [{"name": "qr-code", "expires_in_s": 300, "colour": "red"}]}                    |
      | message_max_length 0          | {"message_max_length": 0}                                                                     |
      | expires_in_s 0                | {"otp_types": [{"name": "qr-code", "expires_in_s": 0}]}                                       |
      | access_token_ttl_s 0          | {"access_token_ttl_s": 0}                                                                     |
      | negative callback_retries     | {"callback_retries": -1}                                                                      |
      | an empty OTP type name        | {"otp_types": [{"name": "", "expires_in_s": 300}]}                                            |
      | a duplicate OTP type name     | {"otp_types": [{"name": "push", "expires_in_s": 300}, {"name": "push", "expires_in_s": 300}]} |
      | a fraction for a number       | {"access_token_ttl_s": 1.5}                                                                   |

  # ---------------------------------------------------------------- the clock

  # On a clock that runs on after a move, a reading may also have moved on by the real time
  # since: the checks take both readings of contract section 6.
  @ADM-006 @must @server-wide
  Scenario: GET clock reads now, and advance_ms moves the clock forward by that much
    When the admin sends GET "/_admin/v1/clock"
    Then the response status is 200
    And the response member "now" is an RFC 3339 UTC time
    Given the server's clock reading is remembered as "before"
    When the admin sends POST "/_admin/v1/clock" with the JSON body '{"advance_ms": 90000}'
    Then the response status is a success
    And the server's clock reads 90000 ms after "before", plus at most the real time since
    Given the server's clock reading is remembered as "moved"
    When the admin sends POST "/_admin/v1/clock" with the JSON body '{"advance_ms": 0}'
    Then the response status is a success
    And the server's clock reads 0 ms after "moved", plus at most the real time since

  @ADM-006 @must @server-wide
  Scenario: set moves the clock to a later instant
    Given the server's clock reading is remembered as "before"
    When the admin sets the server's clock to 86400000 ms after "before", remembered as "tomorrow"
    Then the response status is a success
    And the server's clock reads 0 ms after "tomorrow", plus at most the real time since
    When the admin sets the server's clock to 1500 ms after "tomorrow", remembered as "a moment later"
    Then the response status is a success
    And the server's clock reads 0 ms after "a moment later", plus at most the real time since

  # ---------------------------------------------------------------- users and clients

  @ADM-008 @must
  Scenario: A user the admin creates can log in from the next request on
    When the admin sends POST "/_admin/v1/users" with the JSON body '{"username": "{unique carol}", "password": "carol-password"}'
    Then the response status is a success
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={unique carol}&password=carol-password&client_id={app client id}'
    Then the response status is 200
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={unique carol}&password=other-password&client_id={app client id}'
    Then the response is refused with 400 invalid_grant

  @ADM-008 @must
  Scenario: An API client the admin creates can call the relying-party API from the next request on
    When the admin sends POST "/_admin/v1/api-clients" with the JSON body '{"client_id": "{unique shop}", "client_secret": "shop-secret"}'
    Then the response status is a success
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' with the Basic credentials '{unique shop}:shop-secret'
    Then the response status is 200
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' with the Basic credentials '{unique shop}:other-secret'
    Then the response is refused with 401 invalid_client

  @ADM-008 @must
  Scenario: An app client the admin creates can be used at the token endpoint from the next request on
    Given a user "Alice"
    When the admin sends POST "/_admin/v1/app-clients" with the JSON body '{"client_id": "{unique app}"}'
    Then the response status is a success
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={unique app}'
    Then the response status is 200

  @ADM-009 @must
  Scenario: The admin removes a device's enrollment: the device reads as not enrolled, not as disenrolled
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And "phone" has scanned the QR code and fetched the request
    When the admin sends DELETE "/_admin/v1/users/{username of Alice}/enrollments/{device_id of phone}"
    Then the response status is a success
    When "phone" answers "accept" signed with its current key
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    When "phone" handles the OTP
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    And the server reports "phone" as not enrolled
    And the transaction is still pending

  @ADM-009 @must
  Scenario Outline: Removing an enrollment of an unknown user is refused with 20004, and changes nothing
    Given "Alice" has enrolled the device "phone"
    And "Bob" has enrolled the device "tablet"
    When the admin sends DELETE "<path>"
    Then the response is refused with 404 20004 ADMIN_NOT_FOUND
    And the server reports "phone" as enrolled for "Alice"
    And the server reports "tablet" as enrolled for "Bob"

    Examples:
      | what            | path                                                              |
      | an unknown user | /_admin/v1/users/{unique nobody}/enrollments/{device_id of phone} |

  # ---------------------------------------------------------------- injected faults

  # The contract gives a rule's members but not their semantics. Every reading shares this much:
  # a rule that names the request's method and a prefix of its path, with probability 1, a count
  # of several, no latency and no drop, answers the request with its status.
  @ADM-010 @must @server-wide
  Scenario: PUT faults makes its list the injected faults, and [] leaves none
    Given "Alice" has enrolled the device "phone"
    When the admin sends PUT "/_admin/v1/faults" with the JSON body:
      """
      [{"method": "GET", "path_prefix": "/mobile-auth/v1/enrollments/", "latency_ms": 0, "status": 503,
        "drop_connection": false, "probability": 1, "count": 10}]
      """
    Then the response status is a success
    When "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response status is 503
    When the admin sends PUT "/_admin/v1/faults" with the JSON body:
      """
      [{"method": "POST", "path_prefix": "/oauth/token", "latency_ms": 0, "status": 500,
        "drop_connection": false, "probability": 1, "count": 10}]
      """
    Then the response status is a success
    When "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response status is 200
    When "Alice" asks for a token
    Then the response status is 500
    When the admin sends PUT "/_admin/v1/faults" with the JSON body '[]'
    Then the response status is a success
    When "Alice" asks for a token
    Then the response status is 200
    When "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response status is 200

  # ---------------------------------------------------------------- reset

  @ADM-014 @must @server-wide
  Scenario: A reset returns the server to its start state, and keeps the admin token and the event sequence
    Given the server's start configuration is remembered as "start configuration"
    And "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And the server's setting "message_max_length" is 20
    And the admin has installed the faults '[{"method": "GET", "path_prefix": "/mobile-auth/v1/enrollments/", "latency_ms": 0, "status": 503, "drop_connection": false, "probability": 1, "count": 10}]'
    When the admin sends POST "/_admin/v1/api-clients" with the JSON body '{"client_id": "{unique shop}", "client_secret": "shop-secret"}'
    And the admin sends POST "/_admin/v1/app-clients" with the JSON body '{"client_id": "{unique app}"}'
    And the server's event log position is remembered as "before the reset"
    And the admin sends POST "/_admin/v1/reset" with the JSON body '{}'
    Then the response status is 200
    And the response body contains the JSON '{"reset": true}'
    And the server's configuration equals "start configuration"
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    And the device API refuses the access token "{token of phone}"
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' with the Basic credentials '{unique shop}:shop-secret'
    Then the response is refused with 401 invalid_client
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={unique app}'
    Then the response is refused with 401 invalid_client
    When the portal sends GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"
    Then the response is refused with 404 3004 INVALID_TRANSACTION_ID
    When the admin creates the user "Alice" again
    And "Alice" logs in again on the device "phone"
    And "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response is refused with 404 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    When "phone" enrolls
    Then the enrollment is created for "Alice"
    When the admin sends GET "/_admin/v1/events?since={before the reset}"
    Then the events listed continue the sequence after "before the reset"

  # ---------------------------------------------------------------- the event log

  # The contract does not fix which exchanges are logged, by how much seq grows, whether since=N
  # lists the event N itself, the order of the list or the value of last_seq: the checks take
  # the greatest seq listed as a position, and count the events above it and none below it.
  @ADM-015 @must @server-wide
  Scenario: Events have growing sequence numbers, since=N lists every event after N, and a reset does not restart them
    Given a user "Alice"
    And the server's event log position is remembered as "start"
    When "Alice" asks for a token 3 times
    And the admin sends GET "/_admin/v1/events?since={start}"
    Then the response status is 200
    And the events listed have integer sequence numbers
    And the events listed are at least 1 after "start" and none before it
    And the server's event log position is remembered as "three tokens later"
    And the event log position "three tokens later" is above "start"
    When the admin sends GET "/_admin/v1/events?since={three tokens later}"
    Then the response status is 200
    And the events listed are at least 0 after "three tokens later" and none before it
    When the admin sends POST "/_admin/v1/reset" with the JSON body '{}'
    And a client sends POST "/oauth/token" with the form body 'grant_type=password'
    And the admin sends GET "/_admin/v1/events?since={three tokens later}"
    Then the response status is 200
    And the events listed continue the sequence after "three tokens later"
