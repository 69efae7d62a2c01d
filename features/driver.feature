Feature: The device driver protocol
  An SDK under test is driven through a small program that speaks JSON Lines on stdin and stdout:
  one request a line, one reply a line with the same id, and unasked events when a request is shown
  and closed. On the embedded default the driver is the reference driver, mobauth device-driver.

  Background:
    Given a device driver

  @DRV-001 @DRV-003 @must
  Scenario: The driver greets at any time and answers each request on one line with its id
    When the driver is asked to hello
    Then the driver answers '{"protocol": 1}'
    When the driver is sent the line '{"id": 42, "op": "hello"}'
    Then the driver answers '{"protocol": 1}'

  @DRV-002 @must
  Scenario: An operation the driver does not know is unimplemented, not an error
    When the driver is sent the line '{"id": 7, "op": "fly_to_the_moon"}'
    Then the driver answers unimplemented

  @DRV-019 @must
  Scenario Outline: A line that is not JSON is answered 8009 with a null id
    When the driver is sent the line '<line>'
    Then the driver answers error 8009 PARAMETERS_NOT_CORRECT with a null id

    Examples:
      | line                     |
      | this is not JSON         |
      | {"id": 11, "op": "state" |

  # Section 9 makes any malformed request 8009; which id such a reply carries, when the request
  # has no integer one, it leaves open (null, or the id as found: see the readings).
  @DRV-019 @must
  Scenario Outline: A request without an integer id is answered 8009
    When the driver is sent the line '<line>'
    Then the driver answers error 8009 PARAMETERS_NOT_CORRECT

    Examples:
      | line                       |
      | {"op": "state"}            |
      | [1, 2, 3]                  |
      | {"id": 2.5, "op": "state"} |

  @DRV-019 @must
  Scenario Outline: A request with a missing op or wrong arguments is answered 8009 with its id
    When the driver is sent the line '<line>'
    Then the driver answers error 8009 PARAMETERS_NOT_CORRECT

    Examples:
      | line                                                   |
      | {"id": 5}                                              |
      | {"id": 6, "op": "authenticate", "username": 1}         |
      | {"id": 8, "op": "configure", "server_url": "http://x"} |

  @DRV-004 @must
  Scenario: Configure ends the session, and logout always succeeds
    When the driver is asked to logout
    Then the driver answers '{}'
    Given the driver is configured for the server
    And "Alice" is logged in on the driver
    When the driver is configured for the server
    And the driver is asked to state
    Then the driver answers '{"authenticated": false}'
    When the driver is asked to logout
    Then the driver answers '{}'
    When the driver is asked to logout
    Then the driver answers '{}'

  @DRV-005 @DRV-021 @must
  Scenario: A wrong password is INVALID_PIN, and an unknown app client a configuration error
    Given the driver is configured for the server
    And "Alice" is logged in on the driver
    When "Alice" logs in on the driver with a wrong password
    Then the driver answers error 9009 INVALID_PIN
    Given the driver is configured for the server with an app client it does not know
    When "Alice" tries to log in on the driver
    Then the driver answers error 10001 CONFIGURATION_ERROR

  # Whether enroll checks for a session itself or lets the server answer 9010 is the driver's
  # choice (DRV-006 readings): the code is 9010 either way.
  @DRV-006 @DRV-007 @must
  Scenario: Enrollment needs a user, and is per device and user
    Given the driver is configured for the server
    When the driver is asked to enroll
    Then the driver answers error 9010 USER_NOT_AUTHENTICATED
    Given "Alice" has enrolled on the driver
    When the driver is asked to is_enrolled
    Then the driver answers '{"enrolled": true}'
    And the driver's state says enrolled true
    When "Bob" logs in on the driver
    And the driver is asked to is_enrolled
    Then the driver answers '{"enrolled": false}'
    And the driver's state says enrolled false

  @DRV-006 @DRV-021 @must
  Scenario: A refused re-enrollment keeps the earlier key and passes the server's code through
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    When the driver is asked to enroll
    Then the driver answers error 9016 DEVICE_ALREADY_ENROLLED
    Given the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    When the driver is asked to accept
    Then the driver's OTP handling answers '{"status": "accepted"}'

  # The state asked right after the decision may be answered before or after the close and
  # handle_otp's reply (DRV-013 readings); the order of those three is fixed.
  @DRV-005 @DRV-009 @DRV-012 @DRV-013 @DRV-014 @must
  Scenario: Accepting a request shown from a scanned QR code
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's QR code
    Then the driver shows the portal's request
    When the driver is asked to accept
    Then the driver answers '{}'
    When the driver is asked to state
    Then the driver answers '{"authenticated": true}'
    And the driver's OTP handling answers '{"status": "accepted"}'
    And the decision, the close and the OTP reply came in that order
    And the driver showed 1 request and closed 1
    And the transaction is accepted for "Alice"

  @DRV-015 @must
  Scenario: A deny is a success
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    When the driver is asked to deny
    Then the driver's OTP handling answers '{"status": "denied"}'
    And the transaction is denied by "Alice" as not accepted

  @DRV-015 @DRV-021 @must @server-wide
  Scenario: A server refusal of the answer is handle_otp's error with the server's code
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    When the server's clock moves past the OTP's expiry
    And the driver is asked to accept
    Then the driver's OTP handling fails with error 10020 MOBILE_AUTH_REQUEST_EXPIRED
    And the driver showed 1 request and closed 1

  @DRV-012 @must
  Scenario: Accept and deny with nothing showing are 8053
    When the driver is asked to accept
    Then the driver answers error 8053 NOT_IN_PROGRESS_OTP_AUTHENTICATION
    When the driver is asked to deny
    Then the driver answers error 8053 NOT_IN_PROGRESS_OTP_AUTHENTICATION

  @DRV-010 @DRV-014 @must
  Scenario: handle_otp checks locally, in order, before it calls the server
    Given the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver's OTP handling fails with error 10001 CONFIGURATION_ERROR
    Given the driver is configured for the server
    When the driver handles the portal's OTP
    Then the driver's OTP handling fails with error 9010 USER_NOT_AUTHENTICATED
    Given "Alice" is logged in on the driver
    When the driver handles the OTP 'not an OTP'
    Then the driver's OTP handling fails with error 10015 INVALID_REQUEST
    When the driver handles the portal's OTP
    Then the driver's OTP handling fails with error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    And the driver showed 0 requests and closed 0
    And the transaction is still pending

  @DRV-011 @must
  Scenario: QR images that give no OTP, and OTPs that are not trimmed
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles a qr_png of 'not base64!'
    Then the driver's OTP handling fails with error 8009 PARAMETERS_NOT_CORRECT
    When the driver handles a PNG without a QR code
    Then the driver's OTP handling fails with error 10015 INVALID_REQUEST
    When the driver handles the portal's OTP with a space after it
    Then the driver's OTP handling fails with error 10015 INVALID_REQUEST
    And the driver showed 0 requests and closed 0

  @DRV-009 @DRV-011 @must
  Scenario: A QR code whose light modules are transparent is read
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's QR code drawn with transparent light modules
    Then the driver shows the portal's request
    When the driver is asked to accept
    Then the driver's OTP handling answers '{"status": "accepted"}'
    And the transaction is accepted for "Alice"

  @DRV-006 @must @server-wide
  Scenario: After an override re-enrollment the SDK answers with its new key
    Given the server's enrollment mode is "override_allowed"
    And the driver is configured for the server
    And "Alice" has enrolled on the driver
    When the driver is asked to enroll
    Then the driver answers '{"re_enrolled": true}'
    Given the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    When the driver is asked to accept
    Then the driver's OTP handling answers '{"status": "accepted"}'
    And the transaction is accepted for "Alice"

  @DRV-004 @DRV-006 @must
  Scenario: After a logout the driver is not authenticated and cannot enroll
    Given the driver is configured for the server
    And "Alice" is logged in on the driver
    When the driver is asked to logout
    Then the driver answers '{}'
    When the driver is asked to state
    Then the driver answers '{"authenticated": false}'
    When the driver is asked to enroll
    Then the driver answers error 9010 USER_NOT_AUTHENTICATED

  @DRV-022 @must
  Scenario: A reset makes a new installation with a new device_id
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    Then a reset gives the driver a device_id other than the one its state gave before

  @DRV-016 @must
  Scenario: Requests go on while a request is showing
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    And the driver answers hello while the request is showing
    When the driver is asked to state
    Then the driver answers '{"authenticated": true, "enrolled": true}'
    When the driver is asked to accept
    Then the driver answers '{}'
    And the driver's OTP handling answers '{"status": "accepted"}'

  # The second OTP is well formed and the device enrolled, so no local check of section 9 can
  # come before the 8056 (their order against it is open: DRV-017 readings).
  @DRV-017 @must
  Scenario: A second handle_otp while a request is showing is refused with 8056
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    And a second handle_otp of the portal's OTP is refused with error 8056 ALREADY_IN_PROGRESS_MOBILE_AUTH

  @DRV-018 @DRV-022 @must
  Scenario: A reset while a request shows cancels it and gives a new installation
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    When the driver is asked to reset
    Then the reset closed the request and cancelled the OTP with error 9006 ACTION_CANCELED
    When the driver is asked to state
    Then the driver answers '{"authenticated": false, "enrolled": false}'
    And the transaction is still pending

  @DRV-018 @DRV-024 @must
  Scenario: The end of input while a request shows cancels it, and the driver exits 0
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver shows the portal's request
    When the driver's input ends
    Then the driver exits with status 0
    And before exiting it closed the request and cancelled the OTP with error 9006 ACTION_CANCELED

  @DRV-020 @must
  Scenario: A server that is not there is SERVER_NOT_REACHABLE
    Given the driver is configured for a server that is not there
    When the driver is sent the line '{"id": 4, "op": "authenticate", "username": "a", "password": "b"}'
    Then the driver answers error 9001 SERVER_NOT_REACHABLE

  @DRV-023 @must
  Scenario: Disenroll deletes the enrollment, then says not enrolled
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    When the driver is asked to disenroll
    Then the driver answers '{}'
    And the server reads the driver's device as not enrolled for "Alice"
    And the driver's state says enrolled false
    When the driver is asked to disenroll
    Then the driver answers error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED

  @DRV-020 @must @server-wide
  Scenario: A 5xx from the server is GENERAL_ERROR, and a device-API 4xx passes through
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    And the portal has started a QR-code OTP
    When the driver handles the OTP 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='
    Then the driver's OTP handling fails with error 10013 MOBILE_AUTH_REQUEST_NOT_FOUND
    When the server answers the device API with status 503 for a while
    And the driver handles the portal's OTP
    Then the driver's OTP handling fails with error 10000 GENERAL_ERROR
    And the driver showed 0 requests and closed 0

  @DRV-008 @must
  Scenario: After the server removed the enrollment, the driver learns it at its next exchange
    Given the driver is configured for the server
    And "Alice" has enrolled on the driver
    When the server removes "Alice"'s enrollment of the driver's device
    Then the driver's enrollment reads true or false
    Given the portal has started a QR-code OTP
    When the driver handles the portal's OTP
    Then the driver's OTP handling fails with error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    And the driver's state says enrolled false
