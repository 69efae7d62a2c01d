Feature: Re-enrollment and the enrollment mode
  What happens when a user who already has an enrolled device enrolls again depends on the
  server's enrollment mode: single_device (the default), override_allowed or multiple_devices.

  @REN-001 @must @server-wide
  Scenario: In single_device mode the same device cannot enroll again, and its key keeps working
    Given the server's enrollment mode is "single_device"
    And "Alice" has enrolled the device "phone"
    When "phone" enrolls again
    Then the request is refused with status 409, error 9016 DEVICE_ALREADY_ENROLLED
    When the portal starts a QR-code OTP
    And "phone" scans the QR code and handles the OTP
    And "phone" accepts
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @REN-003 @REN-004 @must @server-wide
  Scenario: With override allowed the same device re-enrolls, and its new key replaces the old one at once
    Given the server's enrollment mode is "override_allowed"
    And "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And "phone" has scanned the QR code and fetched the request
    When "phone" enrolls again
    Then "phone" is re-enrolled with a new enrollment and a certificate for its new key
    When "phone" answers "accept" signed with its previous key
    Then the request is refused with status 403, error 10019 INVALID_SIGNATURE
    When "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    And the transaction is accepted for "Alice"

  @server-wide
  Scenario Outline: Alice enrolls a second device in <mode> mode
    Given the server's enrollment mode is "<mode>"
    And "Alice" has enrolled the device "phone"
    And "Alice" is logged in on the device "tablet"
    When "tablet" enrolls
    Then the enrollment gets "<tablet enrollment>"
    And "phone" answering a new OTP gets "<phone>"
    And "tablet" answering a new OTP gets "<tablet>"

    @REN-002 @must
    Examples: one device per user, the first one stays
      | mode          | tablet enrollment              | phone    | tablet                                      |
      | single_device | 409 9018 USER_ALREADY_ENROLLED | accepted | 403 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED |

    @REN-005 @REN-006 @must
    Examples: the second device replaces the first
      | mode             | tablet enrollment | phone                                      | tablet   |
      | override_allowed | created           | 403 9023 MOBILE_AUTHENTICATION_DISENROLLED | accepted |

    @REN-008 @must
    Examples: both devices stay enrolled
      | mode             | tablet enrollment | phone    | tablet   |
      | multiple_devices | created           | accepted | accepted |

  @REN-005 @REN-006 @must @server-wide
  Scenario: A device replaced under override_allowed is refused on both OTP calls
    Given the server's enrollment mode is "override_allowed"
    And "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And "phone" has scanned the QR code and fetched the request
    And "Alice" is logged in on the device "tablet"
    When "tablet" enrolls
    Then the enrollment is created for "Alice"
    When "phone" answers "accept" signed with its current key
    Then the request is refused with status 403, error 9023 MOBILE_AUTHENTICATION_DISENROLLED
    When "phone" handles the OTP
    Then the request is refused with status 403, error 9023 MOBILE_AUTHENTICATION_DISENROLLED
    And the server reports "phone" as not enrolled
    And the transaction is still pending

  @REN-005 @REN-006 @must @server-wide
  Scenario: Under override_allowed a new device disenrolls every other device of its user
    Given the server's enrollment mode is "multiple_devices"
    And "Alice" has enrolled the device "phone"
    And "Alice" has enrolled the device "tablet"
    And the server's enrollment mode is "override_allowed"
    When "Alice" is logged in on the device "laptop"
    And "laptop" enrolls
    Then the enrollment is created for "Alice"
    And "phone" answering a new OTP gets "403 9023 MOBILE_AUTHENTICATION_DISENROLLED"
    And "tablet" answering a new OTP gets "403 9023 MOBILE_AUTHENTICATION_DISENROLLED"
    And "laptop" answering a new OTP gets "accepted"
    And the server reports "phone" as not enrolled
    And the server reports "tablet" as not enrolled

  @REN-007 @must @server-wide
  Scenario: In multiple_devices mode the same device cannot enroll again, and nothing changes
    Given the server's enrollment mode is "multiple_devices"
    And "Alice" has enrolled the device "phone"
    When "phone" enrolls again
    Then the request is refused with status 409, error 9016 DEVICE_ALREADY_ENROLLED
    And the server reports "phone" as enrolled for "Alice" at the time of its latest enrollment, with the certificate issued then
    And "phone" answering a new OTP gets "accepted"

  @server-wide
  Scenario Outline: A device enrolled for Alice cannot be enrolled for Bob in <mode> mode
    Given the server's enrollment mode is "<mode>"
    And "Alice" has enrolled the device "phone"
    When "Bob" is logged in on the device "phone"
    And "phone" enrolls
    Then the request is refused with status 409, error 9016 DEVICE_ALREADY_ENROLLED
    When "Alice" is logged in on the device "phone"
    Then the server reports "phone" as enrolled for "Alice" at the time of its latest enrollment, with the certificate issued then
    And "phone" answering a new OTP gets "accepted"

    @REN-009 @must
    Examples:
      | mode             |
      | single_device    |
      | override_allowed |
      | multiple_devices |

  @REN-010 @must @server-wide
  Scenario: After a switch from multiple_devices to single_device, a further device of a user with enrolled devices is refused
    Given the server's enrollment mode is "multiple_devices"
    And "Alice" has enrolled the device "phone"
    And "Alice" has enrolled the device "tablet"
    When the server's enrollment mode changes to "single_device"
    And "Alice" is logged in on the device "laptop"
    And "laptop" enrolls
    Then the enrollment gets "409 9018 USER_ALREADY_ENROLLED"
    And the server reports "laptop" as not enrolled
