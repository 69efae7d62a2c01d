Feature: The relying-party API
  The portal (an API client, authenticated with HTTP Basic) starts OTP transactions with
  authenticate/user, reads their outcome with GET transaction, and asks whether a user can use
  mobile authentication with GET enabled.

  @RP-001 @must
  Scenario: An OTP type's expiry sets the transaction's time to live
    Given the server has an OTP type "short-code" whose requests expire in 45 seconds
    When the portal starts an OTP of type "short-code" with the message "Log in?"
    Then the portal gets an OTP that lives 45 seconds
    And the transaction is still pending

  @RP-003 @must
  Scenario: While mobile authentication is disabled, the portal cannot start an OTP
    Given mobile authentication is disabled on the server
    When the portal tries to start a QR-code OTP with the message "Log in?"
    Then the request is refused with status 404, error 1000 MOBILE_AUTHENTICATION_DISABLED

  Scenario Outline: The type is required: <case>
    When the portal tries to start an OTP <case>
    Then the request is refused with status 400, error 1003 INVALID_PARAMETER

    @RP-004 @must
    Examples:
      | case              |
      | without a type    |
      | with an empty type |

  Scenario Outline: A type that names no configured OTP type is not found: "<type>"
    When the portal tries to start an OTP of type "<type>"
    Then the request is refused with status 404, error 3005 AUTHENTICATION_TYPE_NOT_FOUND

    @RP-005 @must
    Examples:
      | type      |
      | QR-CODE   |
      | Qr-Code   |
      | qrcode    |
      | qr-code-2 |
      | qr_code   |

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

    @RP-007 @must
    Examples: refused
      | callback_uri               | reply                      |
      |                            | 400 1003 INVALID_PARAMETER |
      | /callback                  | 400 1003 INVALID_PARAMETER |
      | portal.example/callback    | 400 1003 INVALID_PARAMETER |
      | ftp://portal.example/cb    | 400 1003 INVALID_PARAMETER |
      | mailto:portal@example.com  | 400 1003 INVALID_PARAMETER |
      | http:///callback           | 400 1003 INVALID_PARAMETER |
      | https://                   | 400 1003 INVALID_PARAMETER |
      | javascript:alert(1)        | 400 1003 INVALID_PARAMETER |

    @RP-007 @must
    Examples: accepted
      | callback_uri                          | reply   |
      | http://portal.example/callback        | started |
      | https://portal.example/callback?x=1   | started |
      | HTTPS://portal.example/callback       | started |
      | hTtP://portal.example:8443/cb         | started |

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
      | https://portal.example/cb                          | HTTPS://portal.example/cb          | 400 1003 INVALID_PARAMETER |
      | https://portal.example/cb                          | https://PORTAL.example/cb          | 400 1003 INVALID_PARAMETER |
      | https://portal.example/                            | https://portal.example.evil.example/ | 400 1003 INVALID_PARAMETER |
      | https://portal.example/                            | https://portal.example             | 400 1003 INVALID_PARAMETER |
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

  @RP-009 @must
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

  @RP-010 @must
  Scenario: The maximum message length is the server's message_max_length
    Given the server's message_max_length is 10
    When the portal tries to start a QR-code OTP with a message of 11 characters "a"
    Then the request is refused with status 400, error 1005 MESSAGE_TOO_LONG
    When the portal tries to start a QR-code OTP with a message of 10 characters "é"
    Then the portal gets an OTP that lives 300 seconds

  Scenario Outline: A language code is two letters, optionally followed by - or _ and two letters: "<language_code>"
    When the portal tries to start a QR-code OTP with the language code "<language_code>"
    Then the portal's request gets "<reply>"

    @RP-011 @must
    Examples: valid, or empty and so absent
      | language_code | reply   |
      | en            | started |
      | nl-NL         | started |
      | en_GB         | started |
      | EN            | started |
      |               | started |

  @RP-011 @must
  Scenario: A valid language code changes nothing else
    Given "Alice" has enrolled the device "phone"
    When the portal starts a QR-code OTP with the message "Log in?" and the language code "nl-NL"
    Then the portal gets an OTP that lives 300 seconds
    When "phone" scans the QR code and handles the OTP
    Then "phone" was given the request of type "qr-code" with the message "Log in?"

  Scenario Outline: The earliest failing check of authenticate/user gives the reply: <problems>
    When the portal sends authenticate/user with these problems: <problems>
    Then the portal's request gets "<reply>"

    @RP-012 @must
    Examples:
      | problems                                                         | reply                             |
      | a wrong client secret, mobile authentication disabled, a body over 64 KiB | 401 invalid_client       |
      | mobile authentication disabled, a body over 64 KiB, no type       | 404 1000 MOBILE_AUTHENTICATION_DISABLED |
      | a body over 64 KiB, an unknown type                                | 413 1003 INVALID_PARAMETER        |
      | a JSON body, an unknown type                                       | 400 1003 INVALID_PARAMETER        |
      | no type, a message that is too long                                | 400 1003 INVALID_PARAMETER        |
      | an unknown type, a user_id, a callback_uri that is not http        | 404 3005 AUTHENTICATION_TYPE_NOT_FOUND |
      | a user_id, a message that is too long                              | 400 1003 INVALID_PARAMETER        |
      | a callback_uri that is not http, a message that is too long        | 400 1003 INVALID_PARAMETER        |
      | a callback_uri that the whitelist does not allow, a message that is too long | 400 1003 INVALID_PARAMETER |

  Scenario Outline: Basic credentials are form-url-decoded before they are compared: "<user-id>" and "<password>"
    Given an API client "a:b" with the secret "s p"
    When that API client starts a QR-code OTP with the Basic user-id "<user-id>" and password "<password>"
    Then the portal's request gets "started"

    @RP-013 @must
    Examples:
      | user-id | password |
      | a%3Ab   | s+p      |
      | a%3ab   | s%20p    |

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

  @RP-016 @must
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

  @RP-018 @must
  Scenario: An enrolled user can use every configured OTP type
    Given the server's OTP types are "qr-code" and "push-code"
    And "Alice" has enrolled the device "phone"
    When the portal asks whether "Alice" can use mobile authentication
    Then the portal is told the OTP types "qr-code" and "push-code"

  @RP-018 @must
  Scenario: The user_id of the enabled call is percent-decoded
    Given "Carol" is a user whose username holds a space, an @ and an é
    And "Carol" has enrolled the device "tablet"
    When the portal asks whether "Carol" can use mobile authentication
    Then the portal is told the OTP types "qr-code"

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
