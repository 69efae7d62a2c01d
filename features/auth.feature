Feature: Logging in, access tokens and API-client authentication
  A user logs in at the token endpoint (POST /oauth/token) with the OAuth password grant and the
  app's client id; the device API takes the access token as a Bearer token. The relying party
  authenticates to its API with HTTP Basic. The token endpoint and client authentication answer
  errors as RFC 6749 §5.2 does: {"error", "error_description"?}.

  Where a token's lifetime matters, a scenario reads it from the server's expires_in and checks
  well before and well after it on the server's clock, never at the boundary instant.

  Requests are written as they go over the wire, as in general.feature: a name in braces, such as
  {username of Alice} or {app client id}, stands for the value the scenario knows by that name,
  and {unique nobody} for a name that no user or client has.

  Background:
    Given a user "Alice"

  # ---------------------------------------------------------------- the token endpoint

  @AUTH-001 @must
  Scenario: A user logs in with the password grant and gets a Bearer token for mobile_auth
    When "Alice" asks for a token
    Then the response status is 200
    And the response body contains the JSON '{"token_type": "Bearer", "scope": "mobile_auth"}'
    And the response member "access_token" is a string
    And the token's expires_in is a positive whole number of seconds
    And the response member "access_token" is remembered as "token"
    And the device API accepts the access token "{token}"

  @AUTH-001 @must @server-wide
  Scenario Outline: expires_in is a whole number of seconds whatever the configured lifetime
    Given the server's setting "access_token_ttl_s" is <seconds>
    When "Alice" asks for a token
    Then the response status is 200
    And the token's expires_in is a positive whole number of seconds

    Examples:
      | seconds |
      | 120     |
      | 86400   |

  @AUTH-002 @must
  Scenario: A wrong password and an unknown username are both refused with invalid_grant
    Given a user "Bob"
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password=not-her-password&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={unique nobody}&password={password of Alice}&client_id={app client id}'
    Then the response is refused with 400 invalid_grant
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Bob}&client_id={app client id}'
    Then the response is refused with 400 invalid_grant

  @AUTH-003 @must
  Scenario Outline: A client_id that is not a registered app client is refused with invalid_client
    When a client sends POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id=<client_id>'
    Then the response is refused with 401 invalid_client

    Examples:
      | why                       | client_id            |
      | nobody registered it      | {unique no-such-app} |
      | it is the API client's id | {api client id}      |

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
  Scenario Outline: A token request that misses a field is refused with invalid_request
    When a client sends POST "/oauth/token" <request>
    Then the response is refused with 400 invalid_request

    Examples:
      | why             | request                                                                                                  |
      | no grant_type   | with the form body 'username={username of Alice}&password={password of Alice}&client_id={app client id}' |
      | no username     | with the form body 'grant_type=password&password={password of Alice}&client_id={app client id}'          |
      | no password     | with the form body 'grant_type=password&username={username of Alice}&client_id={app client id}'          |
      | no client_id    | with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}'       |
      | no field at all | without a Content-Type                                                                                   |

  # An empty field is a missing one or a value like any other (an unknown user, client or grant
  # type): every reading refuses it, with one of the errors that apply.
  @AUTH-007 @must
  Scenario Outline: A token request with an empty field is refused with an RFC 6749 error
    When a client sends POST "/oauth/token" <request>
    Then the response is refused with a 4xx oauth error

    Examples:
      | why                 | request                                                                                                              |
      | an empty grant_type | with the form body 'grant_type=&username={username of Alice}&password={password of Alice}&client_id={app client id}' |
      | an empty username   | with the form body 'grant_type=password&username=&password={password of Alice}&client_id={app client id}'            |
      | an empty password   | with the form body 'grant_type=password&username={username of Alice}&password=&client_id={app client id}'            |
      | an empty client_id  | with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id='        |

  # The contract says how the form is sent, not what a server does with a body typed otherwise:
  # it may parse it as a form anyway, or refuse it.
  @AUTH-007 @must
  Scenario: A token request typed as text is taken or refused with an RFC 6749 error
    When a client sends POST "/oauth/token" with the body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={app client id}' typed "text/plain"
    Then the response is a success or refused with a 4xx oauth error

  @AUTH-007 @must
  Scenario Outline: Every error of the token endpoint and of API-client authentication is an RFC 6749 error object
    Given the portal has started a QR-code OTP
    When <who> sends <request>
    Then the response is refused with <refusal>
    And the error body is an RFC 6749 error object

    Examples: the token endpoint
      | who      | request                                                                                                                                                    | refusal                    |
      | a client | POST "/oauth/token" with the form body 'grant_type=password'                                                                                               | 400 invalid_request        |
      | a client | POST "/oauth/token" with the form body 'grant_type=client_credentials&username={username of Alice}&password={password of Alice}&client_id={app client id}' | 400 unsupported_grant_type |
      | a client | POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password={password of Alice}&client_id={unique no-such-app}'      | 401 invalid_client         |
      | a client | POST "/oauth/token" with the form body 'grant_type=password&username={username of Alice}&password=wrong&client_id={app client id}'                         | 400 invalid_grant          |
      | a client | POST "/oauth/token" with a form body of 65537 bytes                                                                                                        | a 4xx oauth error          |

    Examples: API-client authentication
      | who        | request                                                                                                              | refusal            |
      | a client   | POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'                 | 401 invalid_client |
      | a client   | GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"                                                        | 401 invalid_client |
      | a client   | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled"                                                    | 401 invalid_client |
      | the portal | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled" with the Basic credentials '{api client id}:wrong' | 401 invalid_client |

  # ---------------------------------------------------------------- bearer tokens on the device API

  # Each row's only fault is the missing token, except where the check orders of section 8 put 9010
  # first (enrollment and both OTP calls): there the body is malformed too.
  @AUTH-008 @must
  Scenario Outline: Every device-API call without an access token is refused with 9010
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    When a client sends <method> "<path>" <body>
    Then the response is refused with 401 9010 USER_NOT_AUTHENTICATED
    And the server reports "phone" as enrolled for "Alice"
    And the transaction is still pending

    Examples:
      | method | path                                                 | body                                     |
      | POST   | /mobile-auth/v1/enrollments                          | with the JSON body '{not json'           |
      | GET    | /mobile-auth/v1/enrollments/{device_id of phone}     |                                          |
      | DELETE | /mobile-auth/v1/enrollments/{device_id of phone}     |                                          |
      | POST   | /mobile-auth/v1/otp/requests                         | with the JSON body '{"otp": 42}'         |
      | POST   | /mobile-auth/v1/otp/requests/{transaction_id}/answer | with the JSON body '{"answer": "maybe"}' |
      | POST   | /mobile-auth/v1/otp/requests/{new uuid}/answer       | with the JSON body '{}'                  |

  # The suite writes the scheme "Bearer": a server may compare its name case-insensitively (RFC
  # 7235) or take only that spelling.
  @AUTH-008 @must
  Scenario Outline: The Authorization header must carry a known token in the Bearer scheme
    Given "Alice" has enrolled the device "phone"
    When a client sends GET "/mobile-auth/v1/enrollments/{device_id of phone}" with the header 'Authorization: <authorization>'
    Then the response is <outcome>

    Examples:
      | authorization               | outcome                                      |
      | Bearer {token of phone}     | 200                                          |
      | Token {token of phone}      | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Basic {token of phone}      | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | {token of phone}            | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Bearer                      | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Bearer {unique not-a-token} | refused with 401 9010 USER_NOT_AUTHENTICATED |
      | Bearer {admin token}        | refused with 401 9010 USER_NOT_AUTHENTICATED |

  @AUTH-008 @must @server-wide
  Scenario: An expired token is refused on every device-API call
    Given the server's setting "access_token_ttl_s" is 600
    And "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And "phone" has scanned the QR code and fetched the request
    When "Alice" asks for a token
    Then the response member "expires_in" is remembered as "lifetime"
    When the server's clock moves on by "{lifetime}" seconds plus 10000 ms
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

  @AUTH-008 @must @server-wide
  Scenario: A token issued before a reset is refused afterwards, even when its user exists again
    Given "Alice" is logged in on the device "phone"
    When the admin sends POST "/_admin/v1/reset" with the JSON body '{}'
    Then the response status is 200
    When the admin creates the user "Alice" again
    Then the device API refuses the access token "{token of phone}"
    When "Alice" logs in again on the device "phone"
    Then the device API accepts the access token "{token of phone}"

  @AUTH-009 @must @server-wide
  Scenario: A token is accepted before expires_in seconds have passed on the server's clock, and refused after
    Given the server's setting "access_token_ttl_s" is 600
    When "Alice" asks for a token
    Then the response member "access_token" is remembered as "token"
    And the response member "expires_in" is remembered as "lifetime"
    When the server's clock moves on by "{lifetime}" seconds minus 10000 ms
    Then the device API accepts the access token "{token}"
    When the server's clock moves on by 20000 ms
    Then the device API refuses the access token "{token}"

  @AUTH-009 @must @server-wide
  Scenario: Each token's lifetime runs from its own issue
    Given the server's setting "access_token_ttl_s" is 600
    When "Alice" asks for a token
    Then the response member "access_token" is remembered as "first token"
    And the response member "expires_in" is remembered as "lifetime"
    When the server's clock moves on by 30000 ms
    And "Alice" asks for a token
    Then the response member "access_token" is remembered as "second token"
    When the server's clock moves on by "{lifetime}" seconds minus 20000 ms
    Then the device API refuses the access token "{first token}"
    And the device API accepts the access token "{second token}"

  # ---------------------------------------------------------------- API-client authentication

  @AUTH-010 @must
  Scenario Outline: A relying-party call with missing, malformed, unknown or wrong credentials is refused with invalid_client
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}' <credentials>
    Then the response is refused with 401 invalid_client

    Examples:
      | why                               | credentials                                                                |
      | no Authorization header           | without credentials                                                        |
      | Basic with nothing after it       | with the header 'Authorization: Basic'                                     |
      | Basic that is not base64          | with the header 'Authorization: Basic %%%not-base64%%%'                    |
      | Basic without a colon             | with the Basic credentials '{api client id}'                               |
      | the Bearer scheme                 | with the header 'Authorization: Bearer {api client secret}'                |
      | an unknown client                 | with the Basic credentials '{unique no-such-client}:secret'                |
      | the app client's id               | with the Basic credentials '{app client id}:'                              |
      | the app client's id with a secret | with the Basic credentials '{app client id}:{api client secret}'           |
      | a wrong secret                    | with the Basic credentials '{api client id}:wrong-secret'                  |
      | an empty secret                   | with the Basic credentials '{api client id}:'                              |
      | the secret in other case          | with the Basic credentials '{api client id}:{uppercase api client secret}' |
      | no client id                      | with the Basic credentials ':{api client secret}'                          |

  # authenticate/user checks the credentials first (section 8); the other calls have only this fault.
  @AUTH-010 @must
  Scenario Outline: Wrong API-client credentials are refused with invalid_client, first of all on authenticate/user
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    When the portal sends <request> with the Basic credentials '{api client id}:wrong-secret'
    Then the response is refused with 401 invalid_client

    Examples:
      | request                                                                               |
      | POST "/oauth/api/v4/authenticate/user" with the form body 'type=no-such-type'         |
      | POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code'              |
      | POST "/oauth/api/v4/authenticate/user" with the form body 'type=%FF&callback_uri=%FF' |
      | GET "/oauth/api/v4/authenticate/transaction/{transaction_id}"                         |
      | GET "/oauth/api/v4/authenticate/user/{username of Alice}/enabled"                     |

  @AUTH-010 @must @server-wide
  Scenario: API-client authentication comes before the mobile-authentication switch
    Given the server's setting "mobile_auth_enabled" is false
    When a client sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'
    Then the response is refused with 401 invalid_client
    When the portal sends POST "/oauth/api/v4/authenticate/user" with the form body 'type=qr-code&callback_uri={callback_uri}'
    Then the response is refused with 404 1000 MOBILE_AUTHENTICATION_DISABLED
