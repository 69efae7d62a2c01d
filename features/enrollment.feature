Feature: Enrollment
  A device enrolls its logged-in user for mobile authentication by sending a certificate signing
  request (CSR) for its own P-256 key. The server answers with a certificate from its
  mobile-authentication CA.

  @ENR-001 @ENR-002 @must
  Scenario: A logged-in user enrolls a device
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls
    Then the enrollment is created for "Alice"
    And "phone" holds a certificate for its own key issued by the server's CA
    And the server reports "phone" as enrolled for "Alice"

  @AUTH-008 @must
  Scenario: A device without an access token cannot enroll
    Given the device "phone" with no user logged in
    When "phone" sends an enrollment request without an access token
    Then the request is refused with status 401, error 9010 USER_NOT_AUTHENTICATED

  @ENR-008 @must
  Scenario: While enrollment is disabled, enrolling is refused and existing enrollments keep working
    Given "Alice" has enrolled the device "phone"
    And "Bob" is logged in on the device "tablet"
    And enrollment is disabled on the server
    When "tablet" enrolls
    Then the request is refused with status 403, error 9017 ENROLLMENT_NOT_AVAILABLE
    And the server reports "tablet" as not enrolled
    When the portal starts a QR-code OTP
    And "phone" scans the QR code and handles the OTP
    And "phone" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @ENR-005 @must
  Scenario: A CSR that is not a PEM certificate request is refused
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls with the CSR "this is not a certificate request"
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    And the server reports "phone" as not enrolled

  @ENR-006 @must
  Scenario: A CSR whose self-signature does not verify is refused
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls with a CSR whose self-signature does not verify
    Then the request is refused with status 400, error 10015 INVALID_REQUEST

  @ENR-007 @must
  Scenario: A CSR for another device id is refused
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls with a CSR whose common name is another device's id
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
