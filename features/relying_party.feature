Feature: The relying-party API
  The portal (an API client, authenticated with HTTP Basic) starts OTP transactions with
  authenticate/user, reads their outcome with GET transaction, and asks whether a user can use
  mobile authentication with GET enabled.

  @RP-001 @must @server-wide
  Scenario: An OTP type's expiry sets the transaction's time to live
    Given the server has an OTP type "short-code" whose requests expire in 45 seconds
    When the portal starts an OTP of type "short-code" with the message "Log in?"
    Then the portal gets an OTP that lives 45 seconds
    And the transaction is still pending

  @RP-003 @must @server-wide
  Scenario: While mobile authentication is disabled, the portal cannot start an OTP
    Given mobile authentication is disabled on the server
    When the portal tries to start a QR-code OTP with the message "Log in?"
    Then the request is refused with status 404, error 1000 MOBILE_AUTHENTICATION_DISABLED

  @RP-004 @must
  Scenario: The type is required
    When the portal tries to start an OTP without a type
    Then the request is refused with status 400, error 1003 INVALID_PARAMETER

  # An empty type is a missing type (1003) or the name of no configured type (3005): the contract
  # leaves the reading open, and every reading refuses it.
  @RP-004 @RP-005 @must
  Scenario: An empty type is refused as a missing type or as a type that is not found
    When the portal tries to start an OTP with an empty type
    Then the portal's request gets "400 1003 INVALID_PARAMETER or 404 3005 AUTHENTICATION_TYPE_NOT_FOUND"

  # Whether type names are compared case-sensitively the contract does not say, so these names
  # differ from "qr-code" in more than case.
  Scenario Outline: A type that names no configured OTP type is not found: "<type>"
    When the portal tries to start an OTP of type "<type>"
    Then the request is refused with status 404, error 3005 AUTHENTICATION_TYPE_NOT_FOUND

    @RP-005 @must
    Examples:
      | type         |
      | qrcode       |
      | qr-code-2    |
      | qr_code      |
      | no-such-type |

  Scenario Outline: The portal cannot name a user for an OTP: user_id "<user>"
    When the portal tries to start a QR-code OTP for the user "<user>"
    Then the request is refused with status 400, error 1003 INVALID_PARAMETER

    @RP-006 @must
    Examples:
      | user  |
      | alice |
      |       |

  @RP-007 @must
  Scenario: The callback_uri is required
    When the portal tries to start a QR-code OTP without a callback_uri
    Then the request is refused with status 400, error 1003 INVALID_PARAMETER

  Scenario Outline: The callback_uri must be an absolute http or https URL with a host: "<callback_uri>"
    When the portal tries to start a QR-code OTP with the callback_uri "<callback_uri>"
    Then the portal's request gets "<reply>"

    # Every URL here is one that RFC 3986 and the WHATWG URL standard read alike (which one a
    # server follows the contract does not say), in lowercase normal form.
    @RP-007 @must
    Examples: refused
      | callback_uri               | reply                      |
      |                            | 400 1003 INVALID_PARAMETER |
      | /callback                  | 400 1003 INVALID_PARAMETER |
      | portal.example/callback    | 400 1003 INVALID_PARAMETER |
      | ftp://portal.example/cb    | 400 1003 INVALID_PARAMETER |
      | mailto:portal@example.com  | 400 1003 INVALID_PARAMETER |
      | https://                   | 400 1003 INVALID_PARAMETER |
      | javascript:alert(1)        | 400 1003 INVALID_PARAMETER |

    @RP-007 @must
    Examples: accepted
      | callback_uri                          | reply   |
      | http://portal.example/callback        | started |
      | https://portal.example/callback?x=1   | started |
      | http://portal.example:8443/cb         | started |

  @server-wide
  Scenario Outline: The callback whitelist allows exact entries and, for entries ending in /, prefixes: <whitelist> and <callback_uri>
    Given the server's callback whitelist is "<whitelist>"
    When the portal tries to start a QR-code OTP with the callback_uri "<callback_uri>"
    Then the portal's request gets "<reply>"

    @RP-007 @RP-008 @must
    Examples: not allowed
      | whitelist                                          | callback_uri                       | reply                      |
      | https://portal.example/cb                          | https://portal.example/cb/         | 400 1003 INVALID_PARAMETER |
      | https://portal.example/cb                          | https://portal.example/cb?x=1      | 400 1003 INVALID_PARAMETER |
      | https://portal.example/cb                          | https://portal.example/c           | 400 1003 INVALID_PARAMETER |
      | https://portal.example/                            | https://portal.example.evil.example/ | 400 1003 INVALID_PARAMETER |
      | https://portal.example/                            | http://portal.example/cb           | 400 1003 INVALID_PARAMETER |
      | https://portal.example/cb/                         | https://portal.example/cbx         | 400 1003 INVALID_PARAMETER |

    @RP-008 @must
    Examples: allowed
      | whitelist                                          | callback_uri                       | reply   |
      | https://portal.example/cb                          | https://portal.example/cb          | started |
      | https://portal.example/                            | https://portal.example/            | started |
      | https://portal.example/                            | https://portal.example/cb/any?x=1  | started |
      | https://a.example/cb, https://portal.example/       | https://portal.example/z           | started |
      | https://a.example/cb, https://portal.example/       | https://a.example/cb               | started |
      |                                                    | http://anything.example/at/all     | started |

  @RP-009 @must
  Scenario Outline: An absent or empty message takes the type's default message: <message>
    Given "Alice" has enrolled the device "phone"
    When the portal starts a QR-code OTP <message>
    And "phone" scans the QR code and handles the OTP
    Then "phone" shows the default message of the OTP type "qr-code"

    Examples:
      | message               |
      | without a message     |
      | with an empty message |

  @RP-009 @must @server-wide
  Scenario Outline: Without a message, a type without a default message is refused: <message>
    Given the server has an OTP type "silent-code" without a default message
    When the portal tries to start an OTP of type "silent-code" <message>
    Then the request is refused with status 400, error 1003 INVALID_PARAMETER

    Examples:
      | message               |
      | without a message     |
      | with an empty message |

  @RP-010 @must
  Scenario: A message longer than the maximum is refused, one of exactly the maximum is not
    When the portal tries to start a QR-code OTP with a message of 156 characters "€"
    Then the request is refused with status 400, error 1005 MESSAGE_TOO_LONG
    When the portal tries to start a QR-code OTP with a message of 155 characters "𝄞"
    Then the portal gets an OTP that lives 300 seconds

  @RP-010 @must @server-wide
  Scenario: The maximum message length is the server's message_max_length
    Given the server's message_max_length is 10
    When the portal tries to start a QR-code OTP with a message of 11 characters "a"
    Then the request is refused with status 400, error 1005 MESSAGE_TOO_LONG
    When the portal tries to start a QR-code OTP with a message of 10 characters "é"
    Then the portal gets an OTP that lives 300 seconds

  # Which language codes a server takes the contract does not say, only that "en" is one and that
  # a refusal for the language code is 1003.
  Scenario Outline: A language code is optional, "en" is taken, and a refused one is 1003: "<language_code>"
    When the portal tries to start a QR-code OTP with the language code "<language_code>"
    Then the portal's request gets "<reply>"

    @RP-011 @must
    Examples: taken
      | language_code | reply   |
      | en            | started |

    @RP-011 @must
    Examples: taken or refused with 1003
      | language_code | reply                                 |
      | nl-NL         | started or 400 1003 INVALID_PARAMETER |
      | en_GB         | started or 400 1003 INVALID_PARAMETER |
      | EN            | started or 400 1003 INVALID_PARAMETER |
      |               | started or 400 1003 INVALID_PARAMETER |
      | english       | started or 400 1003 INVALID_PARAMETER |
      | e1            | started or 400 1003 INVALID_PARAMETER |

  # A body over 64 KiB may be refused at the body step or before every check (GEN-006), so it
  # comes only with problems of later steps; a wrong Content-Type may be refused or parsed anyway,
  # so no row sends one.
  @server-wide
  Scenario Outline: The earliest failing check of authenticate/user gives the reply: <problems>
    When the portal sends authenticate/user with these problems: <problems>
    Then the portal's request gets "<reply>"

    @RP-012 @must
    Examples:
      | problems                                                         | reply                             |
      | a wrong client secret, mobile authentication disabled, no type    | 401 invalid_client                |
      | mobile authentication disabled, no type, a user_id                | 404 1000 MOBILE_AUTHENTICATION_DISABLED |
      | a body over 64 KiB, an unknown type                                | 413 1003 INVALID_PARAMETER        |
      | no type, a message that is too long                                | 400 1003 INVALID_PARAMETER        |
      | an unknown type, a user_id, a callback_uri that is not http        | 404 3005 AUTHENTICATION_TYPE_NOT_FOUND |
      | a user_id, a message that is too long                              | 400 1003 INVALID_PARAMETER        |
      | a callback_uri that is not http, a message that is too long        | 400 1003 INVALID_PARAMETER        |
      | a callback_uri that the whitelist does not allow, a message that is too long | 400 1003 INVALID_PARAMETER |
      | a message that is too long, an invalid language code               | 400 1005 MESSAGE_TOO_LONG         |

  Scenario Outline: Basic credentials are form-url-decoded before they are compared: "<user-id>" and "<password>"
    Given an API client "app one" with the secret "s p&q"
    When that API client starts a QR-code OTP with the Basic user-id "<user-id>" and password "<password>"
    Then the portal's request gets "started"

    @RP-013 @must
    Examples:
      | user-id   | password  |
      | app+one   | s+p%26q   |
      | app%20one | s%20p%26q |

  Scenario Outline: Basic credentials are form-url-decoded before they are compared: "<user-id>" and "<password>" for "a b"
    Given an API client "a b" with the secret "s:p"
    When that API client starts a QR-code OTP with the Basic user-id "<user-id>" and password "<password>"
    Then the portal's request gets "started"

    @RP-013 @must
    Examples:
      | user-id | password |
      | a+b     | s%3Ap    |
      | a%20b   | s:p      |

  @RP-014 @must
  Scenario: Reading a transaction gives its callback_uri as given and its creation time
    When the portal starts a QR-code OTP with the callback path "/callback?order=42&note=a%20b+c"
    Then reading the transaction gives its id, the callback_uri as given, its creation time, status "pending" and authentication_method "OTP"

  @RP-016 @must @server-wide
  Scenario Outline: An answered transaction keeps its status after its time to live
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    When "phone" scans the QR code and handles the OTP
    And "phone" <decides>
    And the server's clock moves past the OTP's expiry
    Then the transaction is <status>
    When "phone" sends its "accept" answer again
    Then the request is refused with status 409, error 9029 ALREADY_HANDLED
    And the transaction is <status>

    Examples:
      | decides | status                            |
      | accepts | accepted for "Alice"              |
      | denies  | denied by "Alice" as not accepted |

  @RP-017 @must
  Scenario: A transaction of another API client, or an unknown one, reads as not found
    Given another API client "shop"
    And the portal has started a QR-code OTP
    When the API client "shop" reads the portal's transaction
    Then the portal's request gets "404 3004 INVALID_TRANSACTION_ID"
    When the portal reads a transaction that does not exist
    Then the portal's request gets "404 3004 INVALID_TRANSACTION_ID"
    And the transaction is still pending

  # Which of the configured types a server lists, and how many, is its choice.
  @RP-018 @must @server-wide
  Scenario: An enrolled user is told configured OTP types
    Given the server's OTP types are "qr-code" and "push-code"
    And "Alice" has enrolled the device "phone"
    When the portal asks whether "Alice" can use mobile authentication
    Then the portal is told some of the OTP types "qr-code" and "push-code"

  @RP-018 @must @server-wide
  Scenario: The user_id of the enabled call is the username, also one with a space, an @ and an é
    Given the server's OTP types are "qr-code" and "push-code"
    And "Carol" is a user whose username holds a space, an @ and an é
    And "Carol" has enrolled the device "tablet"
    When the portal asks whether "Carol" can use mobile authentication
    Then the portal is told some of the OTP types "qr-code" and "push-code"

  @server-wide
  Scenario Outline: A user without an enrolled device, or while mobile authentication is off, can use nothing: <situation>
    Given "Alice" has enrolled the device "phone"
    And "Bob" is logged in on the device "tablet"
    And "Zed" is not a user of the server
    And <situation>
    When the portal asks whether "<user>" can use mobile authentication
    Then the portal is told no OTP types

    @RP-018 @must
    Examples:
      | situation                                       | user  |
      | nothing happens to "phone"                      | Bob   |
      | nothing happens to "phone"                      | Zed   |
      | "phone" is removed by its own request           | Alice |
      | mobile authentication is disabled on the server | Alice |
