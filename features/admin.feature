Feature: The test-control (admin) API
  The harness sets a server up and watches it through /_admin/v1: its settings, its clock, users
  and clients, injected faults, a reset and the log of exchanges. Every call carries the admin
  token fixed at server start as a Bearer token. A server under test may lack this API; the
  scenarios that need it are then not applicable.

  Requests are written as they go over the wire, as in general.feature: "the admin" sends with
  the admin token, "a client" with no credentials, and a name in braces stands for the value the
  scenario knows by that name ({unique carol} is a name nobody else uses).

  # ---------------------------------------------------------------- errors

  @ADM-002 @must
  Scenario Outline: A call without the admin token is refused with 20002 before any other check
    When a client sends <method> "<path>" <body>
    Then the response is refused with 401 20002 ADMIN_UNAUTHORIZED

    Examples:
      | method | path                                                    | body                                           |
      | GET    | /_admin/v1/config                                       |                                                |
      | PUT    | /_admin/v1/config                                       | with the JSON body '{"colour": "blue"}'        |
      | GET    | /_admin/v1/clock                                        |                                                |
      | POST   | /_admin/v1/clock                                        | with the JSON body '{not json'                 |
      | POST   | /_admin/v1/users                                        | with the JSON body '{}'                        |
      | DELETE | /_admin/v1/users/{unique nobody}/enrollments/{new uuid} |                                                |
      | POST   | /_admin/v1/api-clients                                  | with the body 'client_id=x' typed "text/plain" |
      | POST   | /_admin/v1/app-clients                                  | with a JSON body of 65537 bytes                |
      | PUT    | /_admin/v1/faults                                       | with the JSON body '[{"probability": 7}]'      |
      | POST   | /_admin/v1/reset                                        |                                                |
      | GET    | /_admin/v1/events?since=abc                             |                                                |

  @ADM-002 @must
  Scenario Outline: Only the admin token fixed at start, in the Bearer scheme, opens the test-control API
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

  @ADM-002 @must
  Scenario Outline: A malformed test-control call is refused with 20001
    When the admin sends <method> "<path>" <body>
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST

    Examples:
      | what                        | method | path                        | body                                                                                   |
      | bad JSON                    | POST   | /_admin/v1/clock            | with the JSON body '{"advance_ms": '                                                   |
      | bad JSON                    | PUT    | /_admin/v1/config           | with the JSON body 'mobile_auth_enabled: false'                                        |
      | a missing member            | POST   | /_admin/v1/users            | with the JSON body '{"username": "{unique carol}"}'                                    |
      | a missing member            | POST   | /_admin/v1/api-clients      | with the JSON body '{"client_secret": "shop-secret"}'                                  |
      | an invalid member           | POST   | /_admin/v1/app-clients      | with the JSON body '{"client_id": 42}'                                                 |
      | an invalid member           | POST   | /_admin/v1/clock            | with the JSON body '{"advance_ms": "soon"}'                                            |
      | an unknown key in config    | PUT    | /_admin/v1/config           | with the JSON body '{"colour": "blue"}'                                                |
      | a list instead of an object | POST   | /_admin/v1/users            | with the JSON body '["{unique carol}", "pw"]'                                          |
      | an invalid query            | GET    | /_admin/v1/events?since=-1  |                                                                                        |

  @ADM-002 @must
  Scenario Outline: A call about something that does not exist is refused with 20004
    Given "Alice" has enrolled the device "phone"
    When the admin sends <method> "<path>"
    Then the response is refused with 404 20004 ADMIN_NOT_FOUND

    Examples:
      | what                   | method | path                                                               |
      | an unknown user        | DELETE | /_admin/v1/users/{unique nobody}/enrollments/{device_id of phone}  |

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

  @ADM-004 @must
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
    And the response member "otp_types[0].default_message" is absent or null

  @ADM-004 @must
  Scenario: A new configuration applies to every request that starts after it
    Given a user "Alice"
    When the admin sends PUT "/_admin/v1/config" with the JSON body '{"access_token_ttl_s": 90, "message_max_length": 6, "otp_types": [{"name": "push", "expires_in_s": 60}]}'
    Then the response status is a success
    When "Alice" asks for a token
    Then the response member "expires_in" equals 90
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=push&callback_uri={callback_uri}'
    Then the response is refused with 400 1003 INVALID_PARAMETER
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=push&callback_uri={callback_uri}&message=Log+in%3F'
    Then the response is refused with 400 1005 MESSAGE_TOO_LONG
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=push&callback_uri={callback_uri}&message=Login%3F'
    Then the response status is 200
    And the response member "time_to_live" equals 60000
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}&message=Login'
    Then the response is refused with 404 3005 AUTHENTICATION_TYPE_NOT_FOUND

  @ADM-005 @must
  Scenario Outline: An invalid configuration is refused and the configuration stays as it was
    Given the server's setting "message_max_length" is 99
    And the server's configuration is remembered as "before"
    When the admin sends PUT "/_admin/v1/config" with the JSON body '<configuration>'
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST
    And the server's configuration equals "before"

    Examples: unknown keys
      | why                           | configuration                                                      |
      | an unknown top-level key      | {"message_max_length": 120, "sms_enabled": true}                  |
      | an unknown key in an OTP type | {"otp_types": [{"name": "qr-code", "colour": "red"}]}             |

    Examples: invalid values
      | why                            | configuration                                                    |
      | an unknown enrollment mode     | {"enrollment_mode": "sometimes"}                                 |
      | message_max_length 0           | {"message_max_length": 0}                                        |
      | expires_in_s 0                 | {"otp_types": [{"name": "qr-code", "expires_in_s": 0}]}          |
      | access_token_ttl_s 0           | {"access_token_ttl_s": 0}                                        |
      | negative callback_retries      | {"callback_retries": -1}                                         |
      | an empty OTP type name         | {"otp_types": [{"name": ""}]}                                    |
      | a duplicate OTP type name      | {"otp_types": [{"name": "push"}, {"name": "push"}]}              |
      | an OTP type without a name     | {"otp_types": [{"expires_in_s": 60}]}                            |

    Examples: wrong JSON types
      | why                            | configuration                                                    |
      | text for a switch              | {"mobile_auth_enabled": "yes"}                                   |
      | a number for a mode            | {"enrollment_mode": 1}                                           |
      | text for a list                | {"callback_whitelist": "https://shop.example/"}                  |
      | a fraction for a number        | {"access_token_ttl_s": 1.5}                                      |
      | an object for the OTP types    | {"otp_types": {"name": "push"}}                                  |
      | a list for the configuration   | []                                                               |

  # ---------------------------------------------------------------- the clock

  @ADM-006 @must
  Scenario: The clock is read, moved forward and set to any instant, earlier ones included
    Given the server's clock stands still
    Given the server's clock is set to "2030-01-01T00:00:00Z"
    When the admin sends GET "/_admin/v1/clock"
    Then the response status is 200
    And the response member "now" is the instant "2030-01-01T00:00:00Z"
    When the admin sends POST "/_admin/v1/clock" with the JSON body '{"advance_ms": 1500}'
    Then the response status is 200
    And the response member "now" is the instant "2030-01-01T00:00:01.500Z"
    When the admin sends POST "/_admin/v1/clock" with the JSON body '{"advance_ms": 0}'
    Then the response status is 200
    And the response member "now" is the instant "2030-01-01T00:00:01.500Z"
    When the admin sends POST "/_admin/v1/clock" with the JSON body '{"set": "1999-12-31T23:59:59.999Z"}'
    Then the response status is 200
    And the response member "now" is the instant "1999-12-31T23:59:59.999Z"
    When the admin sends POST "/_admin/v1/clock" with the JSON body '{"set": "2030-06-01T12:00:00+02:00"}'
    Then the response status is 200
    And the response member "now" is the instant "2030-06-01T10:00:00Z"
    When the admin sends GET "/_admin/v1/clock"
    Then the response member "now" is the instant "2030-06-01T10:00:00Z"

  @ADM-006 @must
  Scenario Outline: Any other clock body is refused with 20001 and the clock stays where it was
    Given the server's clock stands still
    And the server's clock is set to "2030-01-01T00:00:00Z"
    When the admin sends POST "/_admin/v1/clock" <body>
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST
    When the admin sends GET "/_admin/v1/clock"
    Then the response member "now" is the instant "2030-01-01T00:00:00Z"

    Examples:
      | why                     | body                                                                     |
      | no member               | with the JSON body '{}'                                                  |
      | both members            | with the JSON body '{"advance_ms": 1000, "set": "2031-01-01T00:00:00Z"}' |
      | a fractional advance    | with the JSON body '{"advance_ms": 1.5}'                                 |
      | an advance as text      | with the JSON body '{"advance_ms": "1000"}'                              |
      | a time that is not one  | with the JSON body '{"set": "tomorrow"}'                                 |
      | a time without offset   | with the JSON body '{"set": "2031-01-01T00:00:00"}'                      |
      | a time as a number      | with the JSON body '{"set": 1924992000}'                                 |
      | a list                  | with the JSON body '[1000]'                                              |
      | no body                 | without a Content-Type                                                   |

  # ---------------------------------------------------------------- users and clients

  @ADM-008 @must
  Scenario: The admin creates a user, and posting the user again replaces the password
    When the admin sends POST "/_admin/v1/users" with the JSON body '{"username": "{unique carol}", "password": "first-password"}'
    Then the response status is a success
    And the response member "password" is absent or null
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={unique carol}&password=first-password&client_id={app client id}'
    Then the response status is a success
    When the admin sends POST "/_admin/v1/users" with the JSON body '{"username": "{unique carol}", "password": "second-password"}'
    Then the response status is a success
    And the response member "password" is absent or null
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={unique carol}&password=first-password&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={unique carol}&password=second-password&client_id={app client id}'
    Then the response status is a success

  @ADM-008 @must
  Scenario: The admin creates an API client, and posting it again replaces the secret
    When the admin sends POST "/_admin/v1/api-clients" with the JSON body '{"client_id": "{unique shop}", "client_secret": "first-secret"}'
    Then the response status is a success
    And the response member "client_secret" is absent or null
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' with the Basic credentials '{unique shop}:first-secret'
    Then the response status is a success
    When the admin sends POST "/_admin/v1/api-clients" with the JSON body '{"client_id": "{unique shop}", "client_secret": "second-secret"}'
    Then the response status is a success
    And the response member "client_secret" is absent or null
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' with the Basic credentials '{unique shop}:first-secret'
    Then the response is refused with 401 invalid_client
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' with the Basic credentials '{unique shop}:second-secret'
    Then the response status is a success

  @ADM-008 @must
  Scenario: The admin creates an app client, usable at the token endpoint at once, and posting it again keeps it
    Given a user "Alice"
    When the admin sends POST "/_admin/v1/app-clients" with the JSON body '{"client_id": "{unique app}"}'
    Then the response status is a success
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={unique app}'
    Then the response status is a success
    When the admin sends POST "/_admin/v1/app-clients" with the JSON body '{"client_id": "{unique app}"}'
    Then the response status is a success
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={unique app}'
    Then the response status is a success

  @ADM-008 @must
  Scenario Outline: A user or client with a missing member is refused with 20001
    When the admin sends POST "<path>" with the JSON body '<body>'
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST

    Examples:
      | path                   | body                                                  |
      | /_admin/v1/users       | {"username": "{unique carol}"}                        |
      | /_admin/v1/users       | {"password": "carol-password"}                        |
      | /_admin/v1/api-clients | {"client_id": "{unique shop}"}                        |
      | /_admin/v1/app-clients | {}                                                    |

  @ADM-009 @must
  Scenario: The admin removes a device's enrollment: the device reads as not enrolled, not as disenrolled
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And "phone" has scanned the QR code and fetched the request
    When the admin sends DELETE "/_admin/v1/users/{username of Alice}/enrollments/{device_id of phone}"
    Then the response status is 204
    And the response has no body
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
      | what                               | path                                                                |
      | an unknown user                    | /_admin/v1/users/{unique nobody}/enrollments/{device_id of phone}   |

  # ---------------------------------------------------------------- injected faults

  @ADM-010 @must
  Scenario: PUT faults replaces the whole list, and [] clears it
    Given "Alice" has enrolled the device "phone"
    When the admin sends PUT "/_admin/v1/faults" with the JSON body '[{"method": "GET", "path_prefix": "/mobile-auth/v1/enrollments/", "status": 503}]'
    Then the response status is a success
    When "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response status is 503
    When the admin sends PUT "/_admin/v1/faults" with the JSON body '[{"method": "POST", "path_prefix": "/oauth/token", "status": 500}]'
    Then the response status is a success
    When "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response status is 200
    When "Alice" asks for a token
    Then the response status is 500
    When the admin sends PUT "/_admin/v1/faults" with the JSON body '[]'
    Then the response status is 200
    When "Alice" asks for a token
    Then the response status is 200
    When the admin sends PUT "/_admin/v1/faults" with the JSON body '[{}]'
    Then the response status is 200
    When "Alice" asks for a token
    Then the response status is 200

  # ---------------------------------------------------------------- reset

  @ADM-014 @must
  Scenario Outline: A reset returns the server to its start state and keeps the admin token, the CA and the event sequence
    Given the server's start configuration is remembered as "start configuration"
    And the server's clock reading is remembered as "start time"
    And "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And the server's setting "message_max_length" is 20
    And the admin has installed the faults '[{"method": "GET", "path_prefix": "/mobile-auth/v1/enrollments/", "status": 503}]'
    When the admin sends POST "/_admin/v1/api-clients" with the JSON body '{"client_id": "{unique shop}", "client_secret": "shop-secret"}'
    And the admin sends POST "/_admin/v1/app-clients" with the JSON body '{"client_id": "{unique app}"}'
    And the server's clock moves on by 315360000000 ms
    And the server's event log position is remembered as "before the reset"
    And the admin sends POST "/_admin/v1/reset" <body>
    Then the response status is 200
    And the response body is the JSON '{"reset": true}'
    And the server's configuration equals "start configuration"
    And the server's clock reads no earlier than "start time" and within 60 minutes after it
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
    And "phone" got its new certificate from the same CA as before
    When the admin sends GET "/_admin/v1/events?since={before the reset}"
    Then the events listed continue the sequence after "before the reset"

    Examples:
      | body                    |
      |                         |
      | with the JSON body '{}' |

  # ---------------------------------------------------------------- the event log

  @ADM-015 @must
  Scenario: A fresh server has logged nothing
    Given a server started for this scenario alone
    When the admin sends GET "/_admin/v1/events"
    Then the response status is 200
    And the response body contains the JSON '{"events": [], "last_seq": 0}'

  @ADM-015 @must
  Scenario: Sequence numbers start at 1, grow by one per entry and never restart, not even at a reset
    Given a server started for this scenario alone
    And a user "Alice"
    When "Alice" asks for a token 3 times
    And the admin sends GET "/_admin/v1/events"
    Then the events listed are numbered "1, 2, 3"
    And the response member "last_seq" equals 3
    When the admin sends GET "/_admin/v1/events?since=0"
    Then the events listed are numbered "1, 2, 3"
    When the admin sends GET "/_admin/v1/events?since=1"
    Then the events listed are numbered "2, 3"
    And the response member "last_seq" equals 3
    When the admin sends GET "/_admin/v1/events?since=3"
    Then the events listed are numbered "none"
    And the response member "last_seq" equals 3
    When the admin sends GET "/_admin/v1/events?since=99"
    Then the events listed are numbered "none"
    And the response member "last_seq" equals 3
    When the admin sends POST "/_admin/v1/reset"
    And a client sends POST "/oauth/token" with the form body 'grant_type=password'
    And the admin sends GET "/_admin/v1/events?since=3"
    Then the events listed are numbered "4"
    And the response member "last_seq" equals 4

  @ADM-015 @must
  Scenario Outline: A since that is not a non-negative integer is refused with 20001
    When the admin sends GET "/_admin/v1/events?since=<since>"
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST

    Examples:
      | since |
      | -1    |
      | abc   |
      | 1.5   |
      | 0x10  |
      |       |
