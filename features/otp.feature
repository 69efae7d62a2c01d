Feature: Confirming a login with an OTP shown as a QR code
  The portal starts a transaction and shows its OTP as a QR code. Alice's enrolled phone scans it,
  fetches the request with a challenge, shows the message, and sends her signed decision. The
  server calls the portal back when the transaction ends.

  Background:
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP with the message "Pay 10 EUR to Example Shop?"

  @OTP-003 @OTP-009 @RP-001 @RP-015 @CB-001 @CB-003 @must
  Scenario: Alice accepts a request she scanned
    Then the portal gets an OTP that lives 300 seconds
    And the transaction is still pending
    When "phone" scans the QR code
    Then "phone" read the OTP the portal was given
    When "phone" handles the OTP
    Then "phone" shows the message "Pay 10 EUR to Example Shop?"
    When "phone" accepts
    Then the answer is "accepted"
    And the portal receives a callback for the transaction
    And the transaction is accepted for "Alice"

  @OTP-009 @RP-015 @CB-001 @must
  Scenario: Alice denies a request
    When "phone" scans the QR code and handles the OTP
    And "phone" denies
    Then the answer is "denied"
    And the portal receives a callback for the transaction
    And the transaction is denied by "Alice" as not accepted

  @OTP-001 @must
  Scenario: The OTP is base64 of 49 bytes: format version 1, the transaction id and a random secret
    Then the portal's OTP is 68 characters of canonical standard padded base64 of 49 bytes
    And the portal's OTP starts with the format version 1 and then the 16 bytes of its transaction id
    When the portal starts a QR-code OTP
    Then the portal's OTP starts with the format version 1 and then the 16 bytes of its transaction id
    And the secrets of the portal's two OTPs differ

  # How the server stores the secret and how long a comparison takes cannot be seen from outside;
  # this checks what can be: every bit of the secret counts, and no answer gives the OTP back.
  @OTP-002 @must
  Scenario: The server checks every bit of the secret and never gives the OTP or its secret back
    When "phone" scans the QR code
    And "phone" handles the OTP with the first bit of its secret flipped
    Then the request is refused with status 404, error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND
    When "phone" handles the OTP with the last bit of its secret flipped
    Then the request is refused with status 404, error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND
    When "phone" handles the OTP
    Then "phone" shows the request
    When "phone" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"
    And no answer of the server but authenticate/user's holds the OTP or its secret

  @OTP-005 @must
  Scenario: The request call answers the type, the message, the times and a new challenge
    When "phone" scans the QR code and handles the OTP
    Then "phone" was given the request of type "qr-code" with the message "Pay 10 EUR to Example Shop?"
    And the request's timestamp is the transaction's creation time and it expires 300 seconds later
    And the request's challenge is base64 of 32 bytes
    When "phone" handles the OTP
    Then "phone" was given a challenge it was not given before

  @OTP-006 @must
  Scenario: A device of any enrolled user may answer, and its user becomes the transaction's user
    Given "Bob" has enrolled the device "tablet"
    When "phone" scans the QR code and handles the OTP
    And "tablet" scans the QR code and handles the OTP
    Then "tablet" shows the message "Pay 10 EUR to Example Shop?"
    And the transaction is still pending
    When "tablet" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Bob"

  @OTP-007 @must
  Scenario: A new request call voids only that device's earlier challenge
    Given "Bob" has enrolled the device "tablet"
    When "phone" scans the QR code and handles the OTP
    And "tablet" scans the QR code and handles the OTP
    And "phone" handles the OTP
    Then "phone" was given a challenge it was not given before
    When "phone" answers "accept" over its first challenge
    Then the answer call gets "404 10013 MOBILE_AUTH_REQUEST_NOT_FOUND or 403 10019 INVALID_SIGNATURE"
    And the transaction is still pending
    When "tablet" answers "accept" signed with its current key
    Then the answer is "accepted"
    And the transaction is accepted for "Bob"

  Scenario Outline: The signature covers the signing string exactly: <signature>
    When "phone" scans the QR code and handles the OTP
    And "phone" answers "accept" with <signature>
    Then the answer call gets "<outcome>"

    @OTP-010 @must
    Examples: signatures that verify
      | signature                                             | outcome  |
      | a signature over the signing string                   | accepted |
      | the low-S form of a signature over the signing string | accepted |

    # A server may refuse the high-S twin of a valid signature (see "High-S signatures" in
    # docs/PROTOCOL.md); the suite's devices always sign low-S.
    @OTP-010 @must
    Examples: a signature a server may take or refuse
      | signature                                              | outcome                                 |
      | the high-S form of a signature over the signing string | accepted or 403 10019 INVALID_SIGNATURE |

    @OTP-016 @must
    Examples: signatures that do not verify
      | signature                                                                | outcome                     |
      | a signature by another key                                               | 403 10019 INVALID_SIGNATURE |
      | a signature over the signing string of another transaction               | 403 10019 INVALID_SIGNATURE |
      | a signature over the signing string with the answer deny                 | 403 10019 INVALID_SIGNATURE |
      | a signature over the signing string of another device                    | 403 10019 INVALID_SIGNATURE |
      | a signature over the signing string with the challenge's padding changed | 403 10019 INVALID_SIGNATURE |
      | a signature over the signing string with mobile-auth-v2 first            | 403 10019 INVALID_SIGNATURE |
      | a signature over the signing string with a line break at its end         | 403 10019 INVALID_SIGNATURE |
      | base64 of bytes that are not a DER signature                             | 403 10019 INVALID_SIGNATURE |
      | base64 of the signature as 64 raw bytes of r and s                       | 403 10019 INVALID_SIGNATURE |
      | base64 of the DER signature followed by a zero byte                      | 403 10019 INVALID_SIGNATURE |

  Scenario Outline: A malformed request call is refused: <body>
    When "phone" scans the QR code
    And "phone" sends a request call with <body>
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    And the transaction is still pending

    @OTP-011 @must
    Examples:
      | body                                        |
      | a JSON array of its device id and the OTP   |
      | no otp                                      |
      | no device_id                                |
      | the OTP as a number                         |
      | the OTP with its format version changed     |
      | the OTP with a character that is not base64 |
      | the OTP cut to 48 bytes                     |
      | the OTP with a 50th byte                    |

  # The contract spells ids lowercase and hyphenated and OTPs as canonical padded base64, but a
  # server may read other spellings (see "The spelling of device_id" and "Non-canonical base64"
  # in docs/PROTOCOL.md). A request call changes no transaction, however it is answered.
  Scenario Outline: A request call in a spelling the contract does not rule on is answered or refused: <body>
    When "phone" scans the QR code
    And "phone" sends a request call with <body>
    Then "phone" gets "<reply>"
    And the transaction is still pending

    @OTP-011 @must
    Examples:
      | body                                         | reply                                 |
      | its device id in upper case                  | answered or a 4xx error               |
      | its device id without hyphens                | answered or a 4xx error               |
      | the OTP without its padding                  | answered or 400 10015 INVALID_REQUEST |
      | the OTP with a space at its end              | answered or 400 10015 INVALID_REQUEST |
      | the OTP with non-zero unused bits at its end | answered or 400 10015 INVALID_REQUEST |

  Scenario Outline: A malformed answer call is refused: <body>
    When "phone" scans the QR code and handles the OTP
    And "phone" sends an answer call with <body>
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    And the transaction is still pending

    @OTP-011 @must
    Examples:
      | body                           |
      | a JSON array of its fields     |
      | no signature                   |
      | no answer                      |
      | no device_id                   |
      | the answer ACCEPT              |
      | the answer yes                 |
      | the answer as a boolean        |
      | a signature that is not base64 |

  Scenario Outline: An answer call in a spelling the contract does not rule on is answered or refused: <body>
    When "phone" scans the QR code and handles the OTP
    And "phone" sends an answer call with <body>
    Then the answer call gets "<reply>"

    @OTP-011 @must
    Examples:
      | body                                            | reply                                 |
      | its device id without hyphens                   | accepted or a 4xx error               |
      | a signature with a line break inside its base64 | accepted or 400 10015 INVALID_REQUEST |

  @OTP-012 @must
  Scenario: A device that is not enrolled cannot fetch the request
    Given "Bob" is logged in on the device "tablet"
    When "tablet" scans the QR code and handles the OTP
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED

  Scenario Outline: A device not enrolled for the user is refused on both OTP calls: <situation>
    Given "phone" has scanned the QR code and fetched the request
    And <situation>
    When "<device>" answers "accept" with whatever key and challenge it has
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    When "<device>" scans the QR code and handles the OTP
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    And the transaction is still pending

    @OTP-012 @must
    Examples:
      | situation                                 | device |
      | "Bob" is logged in on the device "tablet" | tablet |
      | "phone" is removed by its own request     | phone  |
      | "phone" is removed by the admin           | phone  |
      | "Bob" is logged in on the device "phone"  | phone  |

  Scenario Outline: Calls that find no request get one reply, whatever the reason: <call>
    When "phone" scans the QR code
    And <call>
    Then the request is refused with status 404, error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND
    And the transaction is still pending

    @OTP-013 @must
    Examples:
      | call                                                             |
      | "phone" handles the OTP with one character of its secret changed |
      | "phone" handles an OTP of a transaction that does not exist      |
      | "phone" answers "accept" without fetching a challenge            |
      | "phone" answers "accept" for a transaction that does not exist   |

  @OTP-013 @must
  Scenario: A challenge belongs to one device: another enrolled device that never fetched cannot answer over it
    Given "Bob" has enrolled the device "tablet"
    When "phone" scans the QR code and handles the OTP
    And "tablet" answers "accept" signed over the challenge "phone" was given
    Then the request is refused with status 404, error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND
    And the transaction is still pending
    When "phone" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @OTP-014 @must
  Scenario: Replaying the winning answer is refused
    When "phone" scans the QR code and handles the OTP
    And "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    When "phone" sends its "accept" answer again
    Then the request is refused with status 409, error 9029 ALREADY_HANDLED
    And the transaction is accepted for "Alice"

  Scenario Outline: A transaction answered by one device is closed to every call: <call>
    Given "Bob" has enrolled the device "tablet"
    And "tablet" has scanned the QR code and fetched the request
    When "phone" scans the QR code and handles the OTP
    And "phone" accepts
    Then the answer is "accepted"
    When <call>
    Then the request is refused with status 409, error 9029 ALREADY_HANDLED
    And the transaction is accepted for "Alice"

    @OTP-014 @must
    Examples:
      | call                                                |
      | "tablet" answers "deny" signed with its current key |
      | "tablet" handles the OTP                            |
      | "phone" handles the OTP                             |

  @OTP-015 @OTP-019 @RP-016 @CB-004 @must @server-wide
  Scenario: A request expires at the instant its time to live ends
    Given the server's clock stands still
    When the server's clock moves to 1 ms before the OTP expires
    And "phone" scans the QR code and handles the OTP
    Then "phone" shows the request
    When the server's clock moves on by 1 ms
    And "phone" accepts
    Then the request is refused with status 410, error 10020 MOBILE_AUTH_REQUEST_EXPIRED
    And the portal receives a callback for the transaction
    And the transaction is expired

  @OTP-015 @must @server-wide
  Scenario: A request fetched after its expiry is refused
    When the server's clock moves past the OTP's expiry
    And "phone" scans the QR code and handles the OTP
    Then the request is refused with status 410, error 10020 MOBILE_AUTH_REQUEST_EXPIRED

  @server-wide
  Scenario Outline: The earliest failing check of the request call gives the reply: <problems>
    Given "Bob" has enrolled the device "tablet"
    When "phone" sends a request call with these problems: <problems>
    Then "phone" gets "<reply>"

    @OTP-017 @must
    Examples:
      | problems                                | reply                                       |
      | no access token, format version changed | 401 9010 USER_NOT_AUTHENTICATED             |
      | format version changed, device removed  | 400 10015 INVALID_REQUEST                   |
      | device removed, wrong secret            | 403 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED |
      | device replaced, wrong secret           | 403 9023 MOBILE_AUTHENTICATION_DISENROLLED  |
      | wrong secret, already answered, expired | 404 10013 MOBILE_AUTH_REQUEST_NOT_FOUND     |
      | already answered, expired               | 409 9029 ALREADY_HANDLED                    |
      | expired                                 | 410 10020 MOBILE_AUTH_REQUEST_EXPIRED       |

  @server-wide
  Scenario Outline: The earliest failing check of the answer call gives the reply: <problems>
    Given "Bob" has enrolled the device "tablet"
    When "phone" sends an answer call with these problems: <problems>
    Then "phone" gets "<reply>"

    @OTP-018 @must
    Examples:
      | problems                                            | reply                                       |
      | no access token, answer value maybe, device removed | 401 9010 USER_NOT_AUTHENTICATED             |
      | answer value maybe, device removed                  | 400 10015 INVALID_REQUEST                   |
      | signature not base64, device removed                | 400 10015 INVALID_REQUEST                   |
      | device removed, unknown transaction                 | 403 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED |
      | device replaced, no live challenge                  | 403 9023 MOBILE_AUTHENTICATION_DISENROLLED  |
      | unknown transaction, wrong signature                | 404 10013 MOBILE_AUTH_REQUEST_NOT_FOUND     |
      | no live challenge, already answered, expired        | 404 10013 MOBILE_AUTH_REQUEST_NOT_FOUND     |
      | already answered, expired, wrong signature          | 409 9029 ALREADY_HANDLED                    |
      | expired, wrong signature                            | 410 10020 MOBILE_AUTH_REQUEST_EXPIRED       |
      | wrong signature                                     | 403 10019 INVALID_SIGNATURE                 |

  @OTP-016 @OTP-020 @must
  Scenario: An answer signed with another key is refused and the request stays open
    When "phone" scans the QR code and handles the OTP
    And "phone" answers "accept" signed with another key
    Then the request is refused with status 403, error 10019 INVALID_SIGNATURE
    And the transaction is still pending
    When "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @OTP-021 @must @server-wide
  Scenario: Of several concurrent answers exactly one wins
    Given "Bob" has enrolled the device "tablet"
    And "Carol" has enrolled the device "laptop"
    And "phone" has scanned the QR code and fetched the request
    And "tablet" has scanned the QR code and fetched the request
    And "laptop" has scanned the QR code and fetched the request
    When these answers are sent at the same moment:
      | device | answer |
      | phone  | accept |
      | phone  | accept |
      | tablet | deny   |
      | laptop | accept |
      | tablet | deny   |
    Then exactly one of them is answered 200 and every other one gets an error reply
    And the transaction reads as the winner's answer, for the winner's user
    And the portal receives a callback for the transaction
    And the portal receives no other callback for the transaction
