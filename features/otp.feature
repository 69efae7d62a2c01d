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

  @OTP-015 @OTP-019 @RP-016 @CB-004 @must
  Scenario: A request expires at the instant its time to live ends
    When the server's clock moves to 1 ms before the OTP expires
    And "phone" scans the QR code and handles the OTP
    Then "phone" shows the request
    When the server's clock moves on by 1 ms
    And "phone" accepts
    Then the request is refused with status 410, error 10020 MOBILE_AUTH_REQUEST_EXPIRED
    And the portal receives a callback for the transaction
    And the transaction is expired

  @OTP-015 @must
  Scenario: A request fetched after its expiry is refused
    When the server's clock moves past the OTP's expiry
    And "phone" scans the QR code and handles the OTP
    Then the request is refused with status 410, error 10020 MOBILE_AUTH_REQUEST_EXPIRED

  @OTP-014 @must
  Scenario: Replaying the winning answer is refused
    When "phone" scans the QR code and handles the OTP
    And "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    When "phone" sends its "accept" answer again
    Then the request is refused with status 409, error 9029 ALREADY_HANDLED
    And the transaction is accepted for "Alice"

  @OTP-013 @must
  Scenario: An OTP with a changed secret is not found
    When "phone" scans the QR code
    And "phone" handles the OTP with one character of its secret changed
    Then the request is refused with status 404, error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND

  @OTP-011 @must
  Scenario: An OTP with another format version is a malformed request
    When "phone" scans the QR code
    And "phone" handles the OTP with its format version changed
    Then the request is refused with status 400, error 10015 INVALID_REQUEST

  @OTP-012 @must
  Scenario: A device that is not enrolled cannot fetch the request
    Given "Bob" is logged in on the device "tablet"
    When "tablet" scans the QR code and handles the OTP
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED

  @OTP-016 @OTP-020 @must
  Scenario: An answer signed with another key is refused and the request stays open
    When "phone" scans the QR code and handles the OTP
    And "phone" answers "accept" signed with another key
    Then the request is refused with status 403, error 10019 INVALID_SIGNATURE
    And the transaction is still pending
    When "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @OTP-013 @must
  Scenario: An answer without a fetched challenge is not found
    When "phone" scans the QR code
    And "phone" answers "accept" without fetching a challenge
    Then the request is refused with status 404, error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND
    And the transaction is still pending

  @OTP-003 @must
  Scenario: A QR code photographed tilted and noisy still gives the OTP
    When "phone" scans the QR code through a camera that tilts it 20 degrees and adds 3 % noise
    Then "phone" read the OTP the portal was given
    When "phone" handles the OTP
    And "phone" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @RP-005 @must
  Scenario: The portal cannot start an OTP of an unknown type
    When the portal tries to start an OTP of type "QR-CODE"
    Then the request is refused with status 404, error 3005 AUTHENTICATION_TYPE_NOT_FOUND

  @RP-006 @must
  Scenario: The portal cannot name a user for an OTP
    When the portal tries to start a QR-code OTP for the user "alice"
    Then the request is refused with status 400, error 1003 INVALID_PARAMETER

  @RP-010 @must
  Scenario: A message longer than the maximum is refused, one of exactly the maximum is not
    When the portal tries to start a QR-code OTP with a message of 156 characters "€"
    Then the request is refused with status 400, error 1005 MESSAGE_TOO_LONG
    When the portal tries to start a QR-code OTP with a message of 155 characters "𝄞"
    Then the portal gets an OTP that lives 300 seconds
