Feature: Rules every API of the server follows
  The token endpoint, the device API (/mobile-auth/v1), the relying-party API (/oauth/api/v4) and
  the test-control API (/_admin/v1) share rules about bodies, error bodies, identifiers, times,
  body size and type, routing, and how settings and the server's clock act.

  These scenarios send requests as they go over the wire. "the admin" sends with the admin token,
  "the portal" with the API client's HTTP Basic credentials, a device such as "phone" with its
  user's access token, and "a client" with no credentials. A name in braces, such as
  {device_id of phone}, {otp} or {transaction_id}, stands for the value the scenario knows by
  that name; {csr of tablet} is a CSR for a fresh key of that device, {new uuid} an id nobody uses.

  Background:
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP with the message "Zahlung von 10 € an Bäckerei Müller? 🥐"
    And "phone" has scanned the QR code and fetched the request

  # ---------------------------------------------------------------- JSON everywhere

  @GEN-001 @must @server-wide
  Scenario Outline: Every answer, success or error, is UTF-8 JSON sent as application/json
    When <who> sends <request>
    Then the response status is <status>
    And the response body is UTF-8 JSON sent with Content-Type "application/json"

    Examples: the token endpoint
      | who      | request                                                                                                                                          | status |
      | a client | POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={app client id}' | 200    |
      | a client | POST "/oauth/token" with the form body 'grant_type=password'                                                                                     | 400    |

    Examples: the device API
      | who      | request                                                                                                                                                                                | status |
      | "phone"  | GET "/mobile-auth/v1/enrollments/{device_id of phone}"                                                                                                                                 | 200    |
      | "phone"  | POST "/mobile-auth/v1/otp/requests" with the JSON body '{"device_id": "{device_id of phone}", "otp": "{otp}"}'                                                                         | 200    |
      | "phone"  | POST "/mobile-auth/v1/otp/requests/{transaction_id}/answer" with the JSON body '{"device_id": "{device_id of phone}", "answer": "deny", "signature": "{signature of phone for deny}"}' | 200    |
      | "phone"  | POST "/mobile-auth/v1/enrollments" with the JSON body '{"device_id": "{device_id of phone}", "csr": "{csr of phone}"}'                                                                 | 409    |
      | a client | GET "/mobile-auth/v1/enrollments/{device_id of phone}"                                                                                                                                 | 401    |

    Examples: the relying-party API
      | who        | request                                                                                              | status |
      | the portal | POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' | 200    |
      | the portal | GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"                                        | 200    |
      | the portal | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled"                                    | 200    |
      | the portal | GET "/oauth/api/v4/authenticate/transaction/{new uuid}"                                              | 404    |
      | a client   | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled"                                    | 401    |

    # The event log from past its end: a server that has lived long may hold more than one answer
    # the harness reads.
    Examples: the test-control API
      | who       | request                                           | status |
      | the admin | GET "/_admin/v1/config"                           | 200    |
      | the admin | GET "/_admin/v1/clock"                            | 200    |
      | the admin | GET "/_admin/v1/events?since=9223372036854775807" | 200    |
      | a client  | GET "/_admin/v1/config"                           | 401    |

  @GEN-001 @must
  Scenario: A device's exchanges from enrollment to answer are JSON, and UTF-8 text comes back unchanged
    Given "Bob" is logged in on the device "tablet"
    When "tablet" sends POST "/mobile-auth/v1/enrollments" with the JSON body '{"device_id": "{device_id of tablet}", "csr": "{csr of tablet}"}'
    Then the response status is 201
    And the response body is UTF-8 JSON sent with Content-Type "application/json"
    When "tablet" sends POST "/mobile-auth/v1/otp/requests" with the JSON body '{"device_id": "{device_id of tablet}", "otp": "{otp}"}'
    Then the response status is 200
    And the response body is UTF-8 JSON sent with Content-Type "application/json"
    And the response member "message" equals "Zahlung von 10 € an Bäckerei Müller? 🥐"
    When "tablet" sends POST "/mobile-auth/v1/otp/requests/{transaction_id}/answer" with the JSON body '{"device_id": "{device_id of tablet}", "answer": "accept", "signature": "{signature of tablet for accept}"}'
    Then the response status is 200
    And the response body is UTF-8 JSON sent with Content-Type "application/json"
    And the response member "status" equals "accepted"

  @GEN-001 @must @server-wide
  Scenario Outline: Only the token endpoint and authenticate/user take form bodies, every other body is JSON
    When <who> sends <method> "<path>" with the <kind> body '<body>'
    Then the response is refused with <refusal>

    Examples: JSON endpoints do not take a form body
      | who       | method | path                                                 | kind | body                                                        | refusal                         |
      | "phone"   | POST   | /mobile-auth/v1/enrollments                          | form | device_id={device_id of phone}&csr=none                     | 400 10015 INVALID_REQUEST       |
      | "phone"   | POST   | /mobile-auth/v1/otp/requests                         | form | device_id={device_id of phone}&otp={otp}                    | 400 10015 INVALID_REQUEST       |
      | "phone"   | POST   | /mobile-auth/v1/otp/requests/{transaction_id}/answer | form | device_id={device_id of phone}&answer=accept&signature=AAAA | 400 10015 INVALID_REQUEST       |
      | the admin | PUT    | /_admin/v1/config                                    | form | enrollment_mode=multiple_devices                            | 400 20001 INVALID_ADMIN_REQUEST |
      | the admin | POST   | /_admin/v1/clock                                     | form | advance_ms=1000                                             | 400 20001 INVALID_ADMIN_REQUEST |
      | the admin | POST   | /_admin/v1/users                                     | form | username={unique carol}&password=carol-password             | 400 20001 INVALID_ADMIN_REQUEST |
      | the admin | PUT    | /_admin/v1/faults                                    | form | method=GET                                                  | 400 20001 INVALID_ADMIN_REQUEST |

    Examples: form endpoints do not take a JSON body
      | who        | method | path                            | kind | body                                                                                                                             | refusal                    |
      | the portal | POST   | /oauth/api/v4/authenticate/user | JSON | {"type": "qr-code", "callback_uri": "{callback_uri}"}                                                                            | 400 1003 INVALID_PARAMETER |
      | a client   | POST   | /oauth/token                    | JSON | {"grant_type": "password", "username": "{username of Alice}", "password": "{password of Alice}", "client_id": "{app client id}"} | 400 invalid_request        |

  # ---------------------------------------------------------------- error bodies

  @GEN-002 @must @server-wide
  Scenario Outline: Every error of the device, relying-party and test-control APIs has a code, its type and a message text
    When <who> sends <request>
    Then the response is refused with <refusal>
    And the error body has an integer error_code, an UPPER_SNAKE error_type and a text error_message

    Examples: the device API
      | who      | request                                                                                                                                                                              | refusal                                     |
      | a client | GET "/mobile-auth/v1/enrollments/{device_id of phone}"                                                                                                                               | 401 9010 USER_NOT_AUTHENTICATED             |
      | "phone"  | POST "/mobile-auth/v1/enrollments" with the JSON body '[]'                                                                                                                           | 400 10015 INVALID_REQUEST                   |
      | "phone"  | POST "/mobile-auth/v1/enrollments" with the JSON body '{"device_id": "{device_id of phone}", "csr": "{csr of phone}"}'                                                               | 409 9016 DEVICE_ALREADY_ENROLLED            |
      | "phone"  | GET "/mobile-auth/v1/enrollments/{new uuid}"                                                                                                                                         | 404 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED |
      | "phone"  | POST "/mobile-auth/v1/otp/requests/{new uuid}/answer" with the JSON body '{"device_id": "{device_id of phone}", "answer": "accept", "signature": "{signature of phone for accept}"}' | 404 10013 MOBILE_AUTH_REQUEST_NOT_FOUND     |
      | "phone"  | POST "/mobile-auth/v1/otp/requests/{transaction_id}/answer" with the JSON body '{"device_id": "{device_id of phone}", "answer": "accept", "signature": "AAAA"}'                      | 403 10019 INVALID_SIGNATURE                 |

    Examples: the relying-party API
      | who        | request                                                                                           | refusal                                |
      | the portal | POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code'                          | 400 1003 INVALID_PARAMETER             |
      | the portal | POST "/oauth/api/v4/authenticate/user" with the form body 'type=push&callback_uri={callback_uri}' | 404 3005 AUTHENTICATION_TYPE_NOT_FOUND |
      | the portal | GET "/oauth/api/v4/authenticate/transaction/{new uuid}"                                           | 404 3004 INVALID_TRANSACTION_ID        |

    Examples: the test-control API
      | who       | request                                                                    | refusal                         |
      | a client  | GET "/_admin/v1/config"                                                    | 401 20002 ADMIN_UNAUTHORIZED    |
      | the admin | POST "/_admin/v1/clock" with the JSON body '{}'                            | 400 20001 INVALID_ADMIN_REQUEST |
      | the admin | DELETE "/_admin/v1/users/{unique nobody}/enrollments/{device_id of phone}" | 404 20004 ADMIN_NOT_FOUND       |

  # ---------------------------------------------------------------- identifiers and times

  @GEN-003 @must
  Scenario: Identifiers are lowercase UUIDs, and times are RFC 3339 strings in UTC
    Given "Bob" is logged in on the device "tablet"
    When the admin sends GET "/_admin/v1/clock"
    Then the response member "now" is an RFC 3339 UTC time
    When "tablet" sends POST "/mobile-auth/v1/enrollments" with the JSON body '{"device_id": "{device_id of tablet}", "csr": "{csr of tablet}"}'
    Then the response status is 201
    And the response member "enrollment_id" is a lowercase hyphenated UUID
    When "tablet" sends GET "/mobile-auth/v1/enrollments/{device_id of tablet}"
    Then the response member "enrolled_at" is an RFC 3339 UTC time
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'
    Then the response status is 200
    And the response member "transaction_id" is a lowercase hyphenated UUID
    When "tablet" sends POST "/mobile-auth/v1/otp/requests" with the JSON body '{"device_id": "{device_id of tablet}", "otp": "{otp}"}'
    Then the response status is 200
    And the response member "transaction_id" is a lowercase hyphenated UUID
    And the response member "timestamp" is an RFC 3339 UTC time
    And the response member "expires_at" is an RFC 3339 UTC time
    When the portal sends GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"
    Then the response member "transaction_id" is a lowercase hyphenated UUID
    And the response member "timestamp" is an RFC 3339 UTC time

  # ---------------------------------------------------------------- refusals change nothing

  @GEN-004 @must @server-wide
  Scenario: A failed enrollment leaves the earlier enrollment as it was
    Given the server's enrollment mode is "override_allowed"
    When "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response body is remembered as "enrollment before"
    When "phone" enrolls with the CSR "this is not a certificate request"
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    When "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response body is the JSON '{enrollment before}'
    When "phone" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @GEN-004 @must
  Scenario: Refused device calls leave the challenge live and the transaction pending
    When "phone" handles the OTP with one character of its secret changed
    Then the request is refused with status 404, error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND
    When "phone" sends POST "/mobile-auth/v1/otp/requests/{transaction_id}/answer" with the JSON body '{"device_id": "{device_id of phone}", "answer": "maybe", "signature": "{signature of phone for accept}"}'
    Then the response is refused with 400 10015 INVALID_REQUEST
    When "phone" sends POST "/mobile-auth/v1/otp/requests/{transaction_id}/answer" with the JSON body '{"device_id": "{device_id of phone}", "answer": "accept", "signature": "AAAA"}'
    Then the response is refused with 403 10019 INVALID_SIGNATURE
    And the transaction is still pending
    When "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @GEN-004 @must @server-wide
  Scenario: Refused token and test-control calls leave tokens, users, clients and settings as they were
    Given the server's configuration is remembered as "settings before"
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password=wrong&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    And the device API accepts the access token "{token of phone}"
    When "Alice" asks for a token
    Then the response status is 200
    When the admin sends PUT "/_admin/v1/config" with the JSON body '{"enrollment_mode": "multiple_devices", "message_max_length": "short"}'
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST
    And the server's configuration equals "settings before"

  # ---------------------------------------------------------------- the server's clock

  @GEN-005 @must @server-wide
  Scenario: Every time the server reports or judges follows its clock
    Given the server's clock stands still
    And the server's clock is set to "2031-07-14T09:30:00.250Z"
    And "Bob" is logged in on the device "tablet"
    When "Bob" asks for a token
    Then the response member "access_token" is remembered as "the Bob token"
    And the response member "expires_in" is remembered as "lifetime"
    When "tablet" enrolls
    And "tablet" sends GET "/mobile-auth/v1/enrollments/{device_id of tablet}"
    Then the response member "enrolled_at" is the instant "2031-07-14T09:30:00.250Z"
    When the server's clock moves on by 60000 ms
    And the portal starts a QR-code OTP
    And "tablet" sends POST "/mobile-auth/v1/otp/requests" with the JSON body '{"device_id": "{device_id of tablet}", "otp": "{otp}"}'
    Then the response member "timestamp" is the instant "2031-07-14T09:31:00.250Z"
    And the response member "expires_at" is the instant "2031-07-14T09:36:00.250Z"
    When the portal sends GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"
    Then the response member "timestamp" is the instant "2031-07-14T09:31:00.250Z"
    When the server's clock moves on by 299999 ms
    Then the transaction is still pending
    When the server's clock moves on by 1 ms
    Then the transaction is expired
    When the server's clock moves on by "{lifetime}" seconds minus 370000 ms
    Then the device API accepts the access token "{the Bob token}"
    When the server's clock moves on by 20000 ms
    Then the device API refuses the access token "{the Bob token}"

  # ---------------------------------------------------------------- body size

  @GEN-006 @must @server-wide
  Scenario Outline: A body over 64 KiB is refused with 413 and the API's invalid-request code, one of exactly 64 KiB is not
    Given "Bob" is logged in on the device "tablet"
    When <who> sends <method> "<path>" with the <kind> body '<body>' padded to 65537 bytes
    Then the response is refused with 413 <code>
    When <who> sends <method> "<path>" with the <kind> body '<body>' padded to 65536 bytes
    Then the response status is <status>

    Examples: the device API
      | who      | method | path                                                 | kind | body                                                                                                      | code                  | status |
      | "tablet" | POST   | /mobile-auth/v1/enrollments                          | JSON | {"device_id": "{device_id of tablet}", "csr": "{csr of tablet}"}                                          | 10015 INVALID_REQUEST | 201    |
      | "phone"  | POST   | /mobile-auth/v1/otp/requests                         | JSON | {"device_id": "{device_id of phone}", "otp": "{otp}"}                                                     | 10015 INVALID_REQUEST | 200    |
      | "phone"  | POST   | /mobile-auth/v1/otp/requests/{transaction_id}/answer | JSON | {"device_id": "{device_id of phone}", "answer": "accept", "signature": "{signature of phone for accept}"} | 10015 INVALID_REQUEST | 200    |

    Examples: the relying-party API
      | who        | method | path                            | kind | body                                     | code                   | status |
      | the portal | POST   | /oauth/api/v4/authenticate/user | form | type=qr-code&callback_uri={callback_uri} | 1003 INVALID_PARAMETER | 200    |

    Examples: the test-control API
      | who       | method | path                   | kind | body                                                           | code                        | status    |
      | the admin | PUT    | /_admin/v1/config      | JSON | {"enrollment_mode": "multiple_devices"}                        | 20001 INVALID_ADMIN_REQUEST | a success |
      | the admin | POST   | /_admin/v1/clock       | JSON | {"advance_ms": 1000}                                           | 20001 INVALID_ADMIN_REQUEST | a success |
      | the admin | POST   | /_admin/v1/users       | JSON | {"username": "{unique carol}", "password": "carol-password"}   | 20001 INVALID_ADMIN_REQUEST | a success |
      | the admin | POST   | /_admin/v1/api-clients | JSON | {"client_id": "{unique shop}", "client_secret": "shop-secret"} | 20001 INVALID_ADMIN_REQUEST | a success |
      | the admin | POST   | /_admin/v1/app-clients | JSON | {"client_id": "{unique app}"}                                  | 20001 INVALID_ADMIN_REQUEST | a success |
      | the admin | PUT    | /_admin/v1/faults      | JSON | []                                                             | 20001 INVALID_ADMIN_REQUEST | a success |

    Examples: the reset of the test-control API
      | who       | method | path             | kind | body | code                        | status    |
      | the admin | POST   | /_admin/v1/reset | JSON | {}   | 20001 INVALID_ADMIN_REQUEST | a success |

  # ---------------------------------------------------------------- routing

  # The relying-party rows send the portal's credentials: without them a server may answer the
  # missing credentials first, with AUTH-010's RFC 6749 error, and the row is about the path.
  @GEN-008 @must
  Scenario Outline: A path under an API prefix that names no endpoint is refused with a 4xx error of the API's shape
    When <who> sends <method> "<path>"
    Then the response is refused with a 4xx error

    Examples:
      | who        | method | path                                                 |
      | a client   | GET    | /mobile-auth/v1/                                     |
      | a client   | GET    | /mobile-auth/v1/enrolments                           |
      | "phone"    | GET    | /mobile-auth/v1/enrollments/{device_id of phone}/key |
      | "phone"    | POST   | /mobile-auth/v1/otp/requests/{transaction_id}/accept |
      | the portal | GET    | /oauth/api/v4/authenticate                           |
      | the portal | GET    | /oauth/api/v4/authenticate/user/{username of Alice}  |
      | the portal | POST   | /oauth/api/v4/authenticate/users                     |
      | the admin  | GET    | /_admin/v1/nothing-here                              |

  @GEN-008 @must @server-wide
  Scenario Outline: A known path called with a method it does not take is refused with a 4xx error of the API's shape
    When <who> sends <method> "<path>"
    Then the response is refused with a 4xx error

    Examples: the device API
      | who     | method | path                                                 |
      | "phone" | GET    | /mobile-auth/v1/enrollments                          |
      | "phone" | PUT    | /mobile-auth/v1/enrollments/{device_id of phone}     |
      | "phone" | GET    | /mobile-auth/v1/otp/requests                         |
      | "phone" | GET    | /mobile-auth/v1/otp/requests/{transaction_id}/answer |

    Examples: the relying-party API
      | who        | method | path                                                        |
      | the portal | GET    | /oauth/api/v4/authenticate/user                             |
      | the portal | DELETE | /oauth/api/v4/authenticate/transaction/{transaction_id}     |
      | the portal | POST   | /oauth/api/v4/authenticate/user/{username of Alice}/enabled |

    Examples: the test-control API
      | who       | method | path              |
      | the admin | DELETE | /_admin/v1/config |
      | the admin | GET    | /_admin/v1/reset  |

  # ---------------------------------------------------------------- identifiers in paths

  # UUIDs compare case-insensitively (RFC 4122 section 3), so a server may read the uppercase
  # spelling of an existing id as that id: the uppercase rows use an id that nothing has.
  @GEN-004 @must
  Scenario Outline: An identifier in a path that is not a lowercase hyphenated UUID is refused and changes nothing
    When <who> sends <method> "<path>" <body>
    Then the response is refused with <refusal>
    And the server reports "phone" as enrolled for "Alice"
    And the transaction is still pending

    Examples: enrollments
      | who     | method | path                                             | body | refusal     |
      | "phone" | GET    | /mobile-auth/v1/enrollments/not-a-uuid           |      | a 4xx error |
      | "phone" | DELETE | /mobile-auth/v1/enrollments/not-a-uuid           |      | a 4xx error |
      | "phone" | GET    | /mobile-auth/v1/enrollments/{uppercase new uuid} |      | a 4xx error |
      | "phone" | DELETE | /mobile-auth/v1/enrollments/{uppercase new uuid} |      | a 4xx error |

    Examples: transactions
      | who        | method | path                                                        | body                                                                                                                           | refusal     |
      | the portal | GET    | /oauth/api/v4/authenticate/transaction/not-a-uuid           |                                                                                                                                | a 4xx error |
      | the portal | GET    | /oauth/api/v4/authenticate/transaction/{uppercase new uuid} |                                                                                                                                | a 4xx error |
      | "phone"    | POST   | /mobile-auth/v1/otp/requests/not-a-uuid/answer              | with the JSON body '{"device_id": "{device_id of phone}", "answer": "accept", "signature": "{signature of phone for accept}"}' | a 4xx error |
      | "phone"    | POST   | /mobile-auth/v1/otp/requests/{uppercase new uuid}/answer    | with the JSON body '{"device_id": "{device_id of phone}", "answer": "accept", "signature": "{signature of phone for accept}"}' | a 4xx error |

  @OTP-018 @must
  Scenario Outline: The answer call for an identifier that is not a UUID still checks authentication and the body first
    Given "Bob" is logged in on the device "tablet"
    When <who> sends POST "/mobile-auth/v1/otp/requests/NOT-A-UUID/answer" with the JSON body '<body>'
    Then the response is refused with <refusal>

    Examples:
      | who      | body                                                                            | refusal                         |
      | a client | {"device_id": "{device_id of phone}", "answer": "accept", "signature": "AAAA"}  | 401 9010 USER_NOT_AUTHENTICATED |
      | "phone"  | {"device_id": "{device_id of phone}", "answer": "maybe", "signature": "AAAA"}   | 400 10015 INVALID_REQUEST       |
      | "tablet" | {"device_id": "{device_id of tablet}", "answer": "accept", "signature": "AAAA"} | a 4xx error                     |
      | "phone"  | {"device_id": "{device_id of phone}", "answer": "accept", "signature": "AAAA"}  | a 4xx error                     |

  # ---------------------------------------------------------------- unknown members

  @ADM-005 @must @server-wide
  Scenario Outline: An unknown key in a PUT config body is refused and the configuration stays
    Given the server's configuration is remembered as "settings before"
    When the admin sends PUT "/_admin/v1/config" with the JSON body '<body>'
    Then the response is refused with 400 20001 INVALID_ADMIN_REQUEST
    And the server's configuration equals "settings before"

    Examples:
      | body                                                      |
      | {"enrollment_mode": "multiple_devices", "colour": "blue"} |
      | {"secure_message": "hello"}                               |

  # ---------------------------------------------------------------- mobile authentication switched off

  @GEN-011 @must @server-wide
  Scenario: While mobile authentication is disabled, new enrollments, new transactions and enabled methods are refused
    Given "Bob" is logged in on the device "tablet"
    And the server's setting "mobile_auth_enabled" is false
    When "tablet" enrolls
    Then the request is refused with status 403, error 9017 ENROLLMENT_NOT_AVAILABLE
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'
    Then the response is refused with 404 1000 MOBILE_AUTHENTICATION_DISABLED
    When the portal sends GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled"
    Then the response status is 200
    And the response body is the JSON '[]'

  @GEN-011 @must @server-wide
  Scenario: While mobile authentication is disabled, both OTP calls on an existing transaction and GET transaction keep working
    Given the server's setting "mobile_auth_enabled" is false
    When the portal sends GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"
    Then the response status is 200
    And the response member "status" equals "pending"
    When "phone" handles the OTP
    Then "phone" shows the request
    When "phone" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"
