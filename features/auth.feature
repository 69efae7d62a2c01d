Feature: Logging in, access tokens and API-client authentication
  A user logs in at the token endpoint (POST /oauth/token) with the OAuth password grant and the
  app's client id; the device API takes the access token as a Bearer token. The relying party
  authenticates to its API with HTTP Basic. The token endpoint and client authentication answer
  errors as RFC 6749 §5.2 does: {"error", "error_description"?}, never with an error_code.

  Requests are written as they go over the wire, as in general.feature: a name in braces, such as
  {username of Alice} or {app client id}, stands for the value the scenario knows by that name,
  and {unique nobody} for a name that no user or client has.

  Background:
    Given a user "Alice"

  # ---------------------------------------------------------------- the token endpoint

  @AUTH-001 @must
  Scenario: A user logs in with the password grant and gets a new opaque token at every call
    Given the server's setting "access_token_ttl_s" is 3600
    When "Alice" asks for a token
    Then the response status is 200
    And the response body contains the JSON '{"token_type": "Bearer", "expires_in": 3600, "scope": "mobile_auth"}'
    And the access token is an opaque text of at least 16 characters, holding neither the username nor the password of "Alice"
    And the response member "access_token" is remembered as "first token"
    When "Alice" asks for a token
    Then the response status is 200
    And the response member "access_token" does not equal "{first token}"
    And the response member "access_token" is remembered as "second token"
    And the device API accepts the access token "{first token}"
    And the device API accepts the access token "{second token}"

  @AUTH-001 @must
  Scenario Outline: expires_in is the configured access-token lifetime
    Given the server's setting "access_token_ttl_s" is <seconds>
    When "Alice" asks for a token
    Then the response status is 200
    And the response member "expires_in" equals <seconds>

    Examples:
      | seconds |
      | 1       |
      | 120     |
      | 86400   |

  @AUTH-002 @must
  Scenario: A wrong password and an unknown username get the same invalid_grant reply
    Given a user "Bob"
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password=not-her-password&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    And the response body is remembered as "wrong password"
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={unique nobody}&password={password of Alice}&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    And the response body is the JSON '{wrong password}'
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Bob}&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    And the response body is the JSON '{wrong password}'

  @AUTH-003 @must
  Scenario Outline: A client_id that is not a registered app client is refused with invalid_client
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id=<client_id>'
    Then the response is refused with 401 invalid_client

    Examples:
      | why                           | client_id            |
      | nobody registered it          | {unique no-such-app} |
      | it is the API client's id     | {api client id}      |

  @AUTH-004 @must
  Scenario Outline: A grant type other than password is refused with unsupported_grant_type
    When a client sends POST "/oauth/token" with the form body 'grant_type=<grant_type>&username={username of Alice}&password={password of Alice}&client_id={app client id}'
    Then the response is refused with 400 unsupported_grant_type

    Examples:
      | grant_type                                            |
      | client_credentials                                    |
      | authorization_code                                    |
      | refresh_token                                         |
      | urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer |
      | Password                                              |

  @AUTH-005 @must
  Scenario Outline: A token request that is not a form, or that misses a field, is refused with invalid_request
    When a client sends POST "/oauth/token" <request>
    Then the response is refused with 400 invalid_request

    Examples: not a form
      | why                   | request                                                                                                                                                           |
      | a JSON body           | with the JSON body '{"grant_type": "password", "username": "{username of Alice}", "password": "{password of Alice}", "client_id": "{app client id}"}'            |
      | a form typed as text  | with the body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={app client id}' typed "text/plain"                       |
      | no body at all        | without a Content-Type                                                                                                                                            |

    Examples: a field missing
      | why                  | request                                                                                                                    |
      | no grant_type        | with the form body 'username={username of Alice}&password={password of Alice}&client_id={app client id}'                   |
      | no username          | with the form body 'grant_type=password&password={password of Alice}&client_id={app client id}'                            |
      | no password          | with the form body 'grant_type=password&username={username of Alice}&client_id={app client id}'                            |
      | no client_id         | with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}'                         |

  @AUTH-005 @must
  Scenario Outline: A token request with an empty field is refused with an RFC 6749 error
    When a client sends POST "/oauth/token" <request>
    Then the response is refused with a 4xx oauth error

    Examples:
      | why                  | request                                                                                                                    |
      | an empty grant_type  | with the form body 'grant_type=&username={username of Alice}&password={password of Alice}&client_id={app client id}'       |
      | an empty username    | with the form body 'grant_type=password&username=&password={password of Alice}&client_id={app client id}'                  |
      | an empty password    | with the form body 'grant_type=password&username={username of Alice}&password=&client_id={app client id}'                  |
      | an empty client_id   | with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id='              |

  @AUTH-007 @must
  Scenario Outline: Every error of the token endpoint and of API-client authentication is an RFC 6749 error object
    When <who> sends <request>
    Then the response is refused with <refusal>
    And the error body is an RFC 6749 error object without an error_code

    Examples: the token endpoint
      | who      | request                                                                                                                                                | refusal                    |
      | a client | POST "/oauth/token" with the form body 'grant_type=password'                                                                                           | 400 invalid_request        |
      | a client | POST "/oauth/token" with the form body 'grant_type=client_credentials&username={username of Alice}&password={password of Alice}&client_id={app client id}' | 400 unsupported_grant_type |
      | a client | POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={unique no-such-app}' | 401 invalid_client         |
      | a client | POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password=wrong&client_id={app client id}'                     | 400 invalid_grant          |
      | a client | POST "/oauth/token" with a form body of 65537 bytes                                                                                                    | 413 invalid_request        |

    Examples: API-client authentication
      | who        | request                                                                                                              | refusal            |
      | a client   | POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'                 | 401 invalid_client |
      | a client   | GET "/oauth/api/v4/authenticate/transaction/{new uuid}"                                                              | 401 invalid_client |
      | a client   | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled"                                                    | 401 invalid_client |
      | the portal | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled" with the Basic credentials '{api client id}:wrong' | 401 invalid_client |

  # ---------------------------------------------------------------- bearer tokens on the device API

  @AUTH-008 @must
  Scenario Outline: Every device-API call without an access token is refused with 9010 before any other check
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    When a client sends <method> "<path>" <body>
    Then the response is refused with 401 9010 USER_NOT_AUTHENTICATED
    And the server reports "phone" as enrolled for "Alice"
    And the transaction is still pending

    Examples:
      | method | path                                                 | body                                        |
      | POST   | /mobile-auth/v1/enrollments                          | with the JSON body '{not json'              |
      | POST   | /mobile-auth/v1/enrollments                          | with a JSON body of 65537 bytes             |
      | GET    | /mobile-auth/v1/enrollments/{device_id of phone}     |                                             |
      | GET    | /mobile-auth/v1/enrollments/not-a-uuid               |                                             |
      | DELETE | /mobile-auth/v1/enrollments/{device_id of phone}     |                                             |
      | POST   | /mobile-auth/v1/otp/requests                         | with the body 'otp={otp}' typed "text/plain" |
      | POST   | /mobile-auth/v1/otp/requests/{transaction_id}/answer | with the JSON body '{"answer": "maybe"}'    |
      | POST   | /mobile-auth/v1/otp/requests/{new uuid}/answer       | with the JSON body '{}'                     |

  @AUTH-008 @must
  Scenario Outline: The Authorization header must carry a known token in the Bearer scheme, whose name is case-insensitive
    Given "Alice" has enrolled the device "phone"
    When a client sends GET "/mobile-auth/v1/enrollments/{device_id of phone}" with the header 'Authorization: <authorization>'
    Then the response is <outcome>

    Examples:
      | authorization                   | outcome                                      |
      | Bearer {token of phone}         | 200                                          |
      | bearer {token of phone}         | 200                                          |
      | BEARER {token of phone}         | 200                                          |
      | Token {token of phone}          | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Basic {token of phone}          | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | {token of phone}                | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Bearer                          | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Bearer {unique not-a-token}     | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Bearer {admin token}            | refused with 401 9010 USER_NOT_AUTHENTICATED |

  @AUTH-008 @must
  Scenario: An expired token is refused on every device-API call
    Given the server's setting "access_token_ttl_s" is 600
    And "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And "phone" has scanned the QR code and fetched the request
    When the server's clock moves on by 600000 ms
    And "phone" sends GET "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response is refused with 401 9010 USER_NOT_AUTHENTICATED
    When "phone" sends DELETE "/mobile-auth/v1/enrollments/{device_id of phone}"
    Then the response is refused with 401 9010 USER_NOT_AUTHENTICATED
    When "phone" sends POST "/mobile-auth/v1/enrollments" with the JSON body '{"device_id": "{device_id of phone}", "csr": "{csr of phone}"}'
    Then the response is refused with 401 9010 USER_NOT_AUTHENTICATED
    When "phone" sends POST "/mobile-auth/v1/otp/requests" with the JSON body '{"device_id": "{device_id of phone}", "otp": "{otp}"}'
    Then the response is refused with 401 9010 USER_NOT_AUTHENTICATED
    When "phone" answers "accept" signed with its current key
    Then the request is refused with status 401, error 9010 USER_NOT_AUTHENTICATED

  @AUTH-008 @must
  Scenario: A token issued before a reset is refused afterwards, even when its user exists again
    Given "Alice" is logged in on the device "phone"
    When the admin sends POST "/_admin/v1/reset"
    Then the response status is 200
    When the admin creates the user "Alice" again
    Then the device API refuses the access token "{token of phone}"
    When "Alice" logs in again on the device "phone"
    Then the device API accepts the access token "{token of phone}"

  @AUTH-009 @must
  Scenario: A token is accepted until its issue time plus expires_in, and refused from that instant on
    Given the server's clock stands still
    And the server's setting "access_token_ttl_s" is 60
    And "Alice" is logged in on the device "phone"
    When the server's clock moves on by 59999 ms
    Then the device API accepts the access token "{token of phone}"
    When the server's clock moves on by 1 ms
    Then the device API refuses the access token "{token of phone}"

  @AUTH-009 @must
  Scenario: A new token leaves the user's earlier tokens valid until each one's own expiry
    Given the server's setting "access_token_ttl_s" is 60
    And "Alice" is logged in on the device "phone"
    When the server's clock moves on by 30000 ms
    And "Alice" logs in again on the device "tablet"
    And "Alice" asks for a token
    Then the response member "expires_in" equals 60
    And the device API accepts the access token "{token of phone}"
    And the device API accepts the access token "{token of tablet}"
    When the server's clock moves on by 30000 ms
    Then the device API refuses the access token "{token of phone}"
    And the device API accepts the access token "{token of tablet}"

  # ---------------------------------------------------------------- API-client authentication

  @AUTH-010 @must
  Scenario Outline: A relying-party call with missing, malformed, unknown or wrong credentials is refused with invalid_client
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' <credentials>
    Then the response is refused with 401 invalid_client

    Examples:
      | why                                 | credentials                                                     |
      | no Authorization header             | without credentials                                             |
      | Basic with nothing after it         | with the header 'Authorization: Basic'                          |
      | Basic that is not base64            | with the header 'Authorization: Basic %%%not-base64%%%'         |
      | Basic without a colon               | with the Basic credentials '{api client id}'                    |
      | the Bearer scheme                   | with the header 'Authorization: Bearer {api client secret}'     |
      | an unknown client                   | with the Basic credentials '{unique no-such-client}:secret'     |
      | the app client's id                 | with the Basic credentials '{app client id}:'                   |
      | the app client's id with a secret   | with the Basic credentials '{app client id}:{api client secret}' |
      | a wrong secret                      | with the Basic credentials '{api client id}:wrong-secret'       |
      | an empty secret                     | with the Basic credentials '{api client id}:'                   |
      | the secret in other case            | with the Basic credentials '{api client id}:{uppercase api client secret}' |
      | no client id                        | with the Basic credentials ':{api client secret}'               |

  @AUTH-010 @must
  Scenario Outline: API-client authentication comes before any other check of the relying-party API
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    When the portal sends <request> with the Basic credentials '{api client id}:wrong-secret'
    Then the response is refused with 401 invalid_client

    Examples:
      | request                                                                                     |
      | POST "/oauth/api/v4/authenticate/user" with the form body 'type=no-such-type'               |
      | POST "/oauth/api/v4/authenticate/user" with the body '{"type": "qr-code"}' typed "application/json" |
      | POST "/oauth/api/v4/authenticate/user" with a form body of 65537 bytes                      |
      | GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"                               |
      | GET "/oauth/api/v4/authenticate/transaction/not-a-uuid"                                     |
      | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled"                           |

  @AUTH-010 @must
  Scenario: API-client authentication comes before the mobile-authentication switch
    Given the server's setting "mobile_auth_enabled" is false
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'
    Then the response is refused with 401 invalid_client
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'
    Then the response is refused with 404 1000 MOBILE_AUTHENTICATION_DISABLED
